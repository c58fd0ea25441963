package io.texforce.cli;

import io.texforce.clip.tokenizer.TokenizerException;
import io.texforce.tensor.DeviceOutOfMemoryException;
import io.texforce.tensor.io.SafeTensorsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.UncheckedIOException;

/** {@code bin/texforce}: the TexForce-J command-line tool. */
@Command(name = "texforce", mixinStandardHelpOptions = true, version = "TexForce-J 0.1.0",
        description = "Text-encoder reinforcement learning for Stable Diffusion.",
        subcommands = {TokenizeCommand.class, EmbedCommand.class, UnetCommand.class, DecodeCommand.class,
                GenerateCommand.class, TrainCommand.class, EvaluateCommand.class, ScoreCommand.class,
                ConvertCommand.class, FuseCommand.class, GoldensCommand.class, DevicesCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for invalid input (bad flags, missing or malformed files). */
    static final int EXIT_USER_ERROR = 2;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the tool and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new java.io.PrintWriter(System.out, true));
        cli.setErr(new java.io.PrintWriter(System.err, true));
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (isUserError(ex)) {
                cmd.getErr().println("texforce " + cmd.getCommandName() + ": " + ex.getMessage());
                return EXIT_USER_ERROR;
            }
            throw ex;
        });
        return cli.execute(args);
    }

    private static boolean isUserError(Throwable ex) {
        // UnsupportedOperationException: a backend that lacks a feature the options asked for (e.g. 16-bit weights).
        return ex instanceof UserError || ex instanceof IllegalArgumentException || ex instanceof SafeTensorsException
                || ex instanceof UnsupportedOperationException || ex instanceof DeviceOutOfMemoryException
                || ex instanceof TokenizerException || ex instanceof IOException || ex instanceof UncheckedIOException;
    }
}

package io.texforce.cli;

import io.texforce.clip.tokenizer.ClipTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;

/** {@code texforce tokenize}: prints the 77 token ids of each prompt. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the CLIP token ids of each prompt, one line per prompt, space separated.")
final class TokenizeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder (or its tokenizer/ folder).")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "PROMPT", description = "Prompts to tokenize.")
    List<String> prompts;

    @Override
    public void run() {
        ClipTokenizer tok = ClipTokenizer.load(ModelDir.tokenizer(model));
        for (String p : prompts) {
            StringJoiner line = new StringJoiner(" ");
            for (int id : tok.tokenize(p)) {
                line.add(Integer.toString(id));
            }
            System.out.println(line);
        }
    }
}

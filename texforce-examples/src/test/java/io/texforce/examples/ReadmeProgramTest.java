package io.texforce.examples;

import io.texforce.tensor.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The minimal program shown in the README compiles against the library and trains on the tiny fixture. */
class ReadmeProgramTest {
    @TempDir
    Path tmp;

    @Test
    void readmeProgramCompilesAndRuns() throws Exception {
        Path readme = TestData.root().getParent().resolve("README.md");
        String text = Files.readString(readme);
        int marker = text.indexOf("<!-- minimal-program -->");
        assertTrue(marker >= 0, "README has the minimal-program marker");
        int start = text.indexOf("```java", marker) + "```java".length();
        int end = text.indexOf("```", start);
        String source = text.substring(start, end);
        Path src = tmp.resolve("MinimalTexForce.java");
        Files.writeString(src, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, null, diagnostics, "-d", tmp.toString(), "-cp",
                System.getProperty("java.class.path"), src.toString());
        assertEquals(0, rc, "README program does not compile:\n" + diagnostics);
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        try (URLClassLoader loader = new URLClassLoader(new URL[]{tmp.toUri().toURL()},
                ReadmeProgramTest.class.getClassLoader())) {
            Class<?> main = loader.loadClass("MinimalTexForce");
            main.getMethod("main", String[].class).invoke(null,
                    (Object) new String[]{TestData.tinySd1().toString(), tmp.resolve("run").toString()});
        } finally {
            System.setOut(old);
        }
        assertTrue(out.toString().contains("fixed-seed reward"), out.toString());
        assertTrue(Files.isRegularFile(tmp.resolve("run/lora.safetensors")));
    }
}

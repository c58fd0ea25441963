package io.texforce.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds CUDA's shared libraries. The driver ({@code libcuda.so.1}) comes with the NVIDIA driver and is found by the
 * dynamic loader; the toolkit libraries (cuBLAS) may live in {@code $TEXFORCE_CUDA_LIBS}, {@code $CUDA_HOME/lib64},
 * {@code /usr/local/cuda/lib64} or a Python environment's pip wheels: CUDA 13's {@code nvidia-*} wheels (the ones
 * PyTorch installs) put every library in {@code nvidia/cu13/lib}, CUDA 12's in {@code nvidia/<name>/lib}. They
 * are tried there before the loader's own search path; the Python environments looked at are the active
 * virtualenv and conda env, ~/.local, /usr/local/lib, /usr/lib and /opt/conda/lib.
 */
final class NativeLibraries {
    private NativeLibraries() {
    }

    /** Opens {@code fileName} (e.g. {@code libcublas.so.13}), or throws naming every place that was tried. */
    static SymbolLookup open(String fileName, String pipPackage) {
        List<String> tried = new ArrayList<>();
        for (Path dir : searchDirs(pipPackage)) {
            Path candidate = dir.resolve(fileName);
            if (Files.isRegularFile(candidate)) {
                try {
                    return SymbolLookup.libraryLookup(candidate, Arena.global());
                } catch (IllegalArgumentException e) {
                    tried.add(candidate + " (" + e.getMessage() + ")");
                }
            } else {
                tried.add(candidate.toString());
            }
        }
        try {
            return SymbolLookup.libraryLookup(fileName, Arena.global());
        } catch (IllegalArgumentException e) {
            tried.add(fileName + " on the loader path");
            throw new CudaUnavailableException("cannot load " + fileName + "; tried " + String.join(", ", tried)
                    + ". Set TEXFORCE_CUDA_LIBS to the folder holding it.", e);
        }
    }

    private static List<Path> searchDirs(String pipPackage) {
        return searchDirs(pipPackage, System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The folders to try, in order, for an environment {@code env} and home folder {@code home}. */
    static List<Path> searchDirs(String pipPackage, java.util.Map<String, String> env, Path home) {
        Set<Path> dirs = new LinkedHashSet<>();
        String explicit = env.get("TEXFORCE_CUDA_LIBS");
        if (explicit != null) {
            for (String part : explicit.split(":")) {
                if (!part.isBlank()) dirs.add(Path.of(part));
            }
        }
        String cudaHome = env.get("CUDA_HOME");
        if (cudaHome != null) dirs.add(Path.of(cudaHome, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        if (pipPackage != null) dirs.addAll(pipDirs(pipPackage, env, home));
        return new ArrayList<>(dirs);
    }

    /** nvidia/cu13/lib and nvidia/{pkg}/lib under the site-packages of the Python environments we know of. */
    private static List<Path> pipDirs(String pkg, java.util.Map<String, String> env, Path home) {
        List<Path> roots = new ArrayList<>();
        for (String name : new String[]{"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = env.get(name);
            if (v != null) roots.add(Path.of(v, "lib"));
        }
        roots.add(home.resolve(".local").resolve("lib"));
        roots.add(Path.of("/usr/local/lib"));
        roots.add(Path.of("/usr/lib"));
        roots.add(Path.of("/opt/conda/lib"));
        List<Path> out = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> pythons = Files.list(root)) {
                pythons.filter(p -> p.getFileName().toString().startsWith("python"))
                        .flatMap(p -> Stream.of(p.resolve("site-packages"), p.resolve("dist-packages")))
                        .flatMap(p -> Stream.of(p.resolve("nvidia").resolve("cu13").resolve("lib"),
                                p.resolve("nvidia").resolve(pkg).resolve("lib")))
                        .filter(Files::isDirectory)
                        .forEach(out::add);
            } catch (IOException ignored) {
                // An unreadable folder only means one fewer place to look.
            }
        }
        return out;
    }
}

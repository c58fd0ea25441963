package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Where cuBLAS and cuDNN are looked for: explicit folders, the toolkit, then pip wheels (CUDA 13 and 12 layouts). */
class NativeLibrariesTest {
    @TempDir
    Path tmp;

    @Test
    void pipWheelsOfBothLayoutsAreFoundInAVirtualenvAfterTheExplicitFolders() throws IOException {
        Path venv = tmp.resolve("venv"), site = venv.resolve("lib/python3.12/site-packages");
        Path cu13 = Files.createDirectories(site.resolve("nvidia/cu13/lib"));      // CUDA 13 wheels (nvidia-cublas)
        Path cu12 = Files.createDirectories(site.resolve("nvidia/cublas/lib"));    // CUDA 12 wheels (-cu12)
        Path explicit = Files.createDirectories(tmp.resolve("mine"));
        List<Path> dirs = NativeLibraries.searchDirs("cublas",
                Map.of("VIRTUAL_ENV", venv.toString(), "TEXFORCE_CUDA_LIBS", explicit.toString()), tmp.resolve("home"));
        assertEquals(explicit, dirs.get(0), dirs.toString());
        assertTrue(dirs.contains(cu13) && dirs.contains(cu12), dirs.toString());
        assertTrue(dirs.indexOf(Path.of("/usr/local/cuda/lib64")) < dirs.indexOf(cu13), "the toolkit first");
        assertTrue(dirs.indexOf(cu13) < dirs.indexOf(cu12), "CUDA 13's layout before CUDA 12's");
    }

    @Test
    void cudnnIsLookedForInItsOwnWheelAsPyTorchInstallsIt() throws IOException {
        // nvidia-cudnn-cu13 keeps its own folder (libcudnn*.so.9) beside the CUDA 13 libraries' nvidia/cu13/lib.
        Path site = tmp.resolve("conda/lib/python3.11/site-packages");
        Path cudnn = Files.createDirectories(site.resolve("nvidia/cudnn/lib"));
        Path cu13 = Files.createDirectories(site.resolve("nvidia/cu13/lib"));
        Map<String, String> env = Map.of("CONDA_PREFIX", tmp.resolve("conda").toString());
        List<Path> forCudnn = NativeLibraries.searchDirs("cudnn", env, tmp.resolve("home"));
        assertTrue(forCudnn.contains(cudnn) && forCudnn.contains(cu13), forCudnn.toString());
        assertTrue(!NativeLibraries.searchDirs("cublas", env, tmp.resolve("home")).contains(cudnn),
                "each library looks in its own wheel");
    }
}

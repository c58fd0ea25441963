package io.texforce.tensor.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.texforce.tensor.io.torch.TorchCheckpoint;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.CompositeSource;
import io.texforce.tensor.nn.SafeTensorsSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The safetensors files that hold one component of a diffusers/transformers folder, found under the names
 * {@code save_pretrained} writes: {@code <stem>.safetensors}, or shards listed by
 * {@code <stem>.safetensors.index.json} ({@code <stem>-00001-of-00002.safetensors}); and weight <em>variants</em>
 * ({@code variant="fp16"}, {@code "non_ema"}, ...): {@code <stem>.fp16.safetensors}, an index
 * {@code <stem>.safetensors.index.fp16.json}, shards {@code <stem>.fp16-00001-of-00002.safetensors} (or the older
 * {@code <stem>-00001-of-00002.fp16.safetensors}). Where a folder has no safetensors, PyTorch pickles under the names
 * transformers/diffusers give them ({@code pytorch_model.bin} for {@code model}, {@code diffusion_pytorch_model.bin},
 * their variants and {@code .bin.index.json} shards).
 *
 * <p>Which files: with no variant asked for, the plain weights; a folder holding only one variant (a download of
 * just the fp16 files) gets that variant, and one holding several gets an error naming them. With a variant asked
 * for, that variant; a component that lacks it gets its plain weights with a warning, as a diffusers pipeline
 * loaded with {@code variant=} does.
 *
 * @param files   the files, in shard order
 * @param variant the variant they are, or null for the plain weights
 */
public record ComponentWeights(List<Path> files, String variant) {
    private static final Pattern VARIANT_NAME = Pattern.compile("[A-Za-z0-9_]+");
    private static final System.Logger LOG = System.getLogger(ComponentWeights.class.getName());

    public ComponentWeights {
        files = List.copyOf(files);
    }

    /**
     * Finds the weights of the component in {@code dir} saved under {@code stem} ({@code model},
     * {@code diffusion_pytorch_model}).
     *
     * @param variant the variant wanted, or null for the plain weights (or the only variant there is)
     * @throws SafeTensorsException naming the folder and what it holds when no usable set of files is there
     */
    public static ComponentWeights find(Path dir, String stem, String variant) {
        if (variant != null && !VARIANT_NAME.matcher(variant).matches()) {
            throw new IllegalArgumentException("weight variant '" + variant
                    + "' is not a variant name (letters, digits and '_', e.g. fp16 or non_ema)");
        }
        List<String> names = list(dir);
        if (variant != null) {
            List<Path> files = filesOf(dir, stem, variant, names);
            if (files != null) {
                return new ComponentWeights(files, variant);
            }
            files = filesOf(dir, stem, null, names);
            if (files != null) {
                LOG.log(System.Logger.Level.WARNING, "{0} has no ''{1}'' variant of {2}.safetensors; loading {3}",
                        dir, variant, stem, files.get(0).getFileName());
                return new ComponentWeights(files, null);
            }
            throw missing(dir, stem, "no '" + variant + "' variant of " + stem + ".safetensors", names);
        }
        List<Path> files = filesOf(dir, stem, null, names);
        if (files != null) {
            return new ComponentWeights(files, null);
        }
        Set<String> variants = variants(stem, names);
        if (variants.size() == 1) {
            String only = variants.iterator().next();
            files = filesOf(dir, stem, only, names);
            if (files != null) {
                LOG.log(System.Logger.Level.INFO, "{0} has no {1}.safetensors; loading its only variant ''{2}''",
                        dir, stem, only);
                return new ComponentWeights(files, only);
            }
        }
        if (variants.size() > 1) {
            throw new SafeTensorsException("no " + stem + ".safetensors in " + dir + " but the weight variants "
                    + variants + ": choose one (--variant on the command line, variant(...) in Java)");
        }
        throw missing(dir, stem, "no " + stem + ".safetensors or " + binStem(stem) + ".bin (or their shards)", names);
    }

    /** The files of one variant (null: the plain weights), or null when the folder has none of them. */
    private static List<Path> filesOf(Path dir, String stem, String variant, List<String> names) {
        String single = variant == null ? stem + ".safetensors" : stem + "." + variant + ".safetensors";
        if (names.contains(single) && Files.isRegularFile(dir.resolve(single))) {
            return List.of(dir.resolve(single));
        }
        String index = variant == null ? stem + ".safetensors.index.json"
                : stem + ".safetensors.index." + variant + ".json";
        if (names.contains(index)) {
            return fromIndex(dir.resolve(index));
        }
        String q = Pattern.quote(stem);
        List<Pattern> shardNames = variant == null
                ? List.of(Pattern.compile(q + "-(\\d+)-of-(\\d+)\\.safetensors"))
                : List.of(Pattern.compile(q + "\\." + Pattern.quote(variant) + "-(\\d+)-of-(\\d+)\\.safetensors"),
                        Pattern.compile(q + "-(\\d+)-of-(\\d+)\\." + Pattern.quote(variant) + "\\.safetensors"));
        for (Pattern p : shardNames) {
            List<Path> shards = shards(dir, p, names);
            if (shards != null) {
                return shards;
            }
        }
        // PyTorch pickles, as older pipelines and safe_serialization=False write them
        String bin = binStem(stem);
        String singleBin = variant == null ? bin + ".bin" : bin + "." + variant + ".bin";
        if (names.contains(singleBin) && Files.isRegularFile(dir.resolve(singleBin))) {
            return List.of(dir.resolve(singleBin));
        }
        String binIndex = variant == null ? bin + ".bin.index.json" : bin + ".bin.index." + variant + ".json";
        if (names.contains(binIndex)) {
            return fromIndex(dir.resolve(binIndex));
        }
        return null;
    }

    /** The name transformers/diffusers give pickled weights: {@code pytorch_model} for a model saved as {@code model}. */
    private static String binStem(String stem) {
        return stem.equals("model") ? "pytorch_model" : stem;
    }

    /**
     * Opens the files: memory-mapped safetensors, or PyTorch pickles read by a restricted unpickler that builds
     * tensors and plain containers only (see {@link TorchCheckpoint}).
     */
    public CheckpointSource open() {
        List<CheckpointSource> parts = new ArrayList<>();
        try {
            for (Path f : files) {
                parts.add(f.getFileName().toString().endsWith(".safetensors") ? SafeTensorsSource.open(f)
                        : TorchCheckpoint.open(f));
            }
        } catch (RuntimeException e) {
            parts.forEach(CheckpointSource::close);
            throw e;
        }
        // shards: one source over all of them (which closes them itself when they cannot be combined)
        return parts.size() == 1 ? parts.get(0) : new CompositeSource(parts);
    }

    /** The distinct files an index's {@code weight_map} names, each of which must exist. */
    private static List<Path> fromIndex(Path index) {
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
        } catch (IOException e) {
            throw new SafeTensorsException("cannot read shard index " + index + ": " + e.getMessage(), e);
        }
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new SafeTensorsException("shard index " + index + " has no weight_map object");
        }
        Set<String> files = new TreeSet<>();
        for (var it = map.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            String file = e.getValue().asText("");
            if (!e.getValue().isTextual() || file.isEmpty() || file.contains("/") || file.contains("\\")) {
                throw new SafeTensorsException("shard index " + index + ": tensor '" + e.getKey()
                        + "' maps to " + e.getValue() + ", not a file name beside the index");
            }
            files.add(file);
        }
        List<Path> out = new ArrayList<>();
        for (String f : files) {
            Path p = index.resolveSibling(f);
            if (!Files.isRegularFile(p)) {
                throw new SafeTensorsException("shard index " + index + " names " + f + ", which is missing");
            }
            out.add(p);
        }
        return out;
    }

    /** Shards named by {@code pattern} (groups: number, total), or null when there are none; all N must be there. */
    private static List<Path> shards(Path dir, Pattern pattern, List<String> names) {
        TreeMap<Integer, String> byNumber = new TreeMap<>();
        Set<Integer> totals = new LinkedHashSet<>();
        for (String n : names) {
            Matcher m = pattern.matcher(n);
            if (m.matches()) {
                byNumber.put(Integer.parseInt(m.group(1)), n);
                totals.add(Integer.parseInt(m.group(2)));
            }
        }
        if (byNumber.isEmpty()) {
            return null;
        }
        int total = totals.iterator().next();
        if (totals.size() > 1 || byNumber.size() != total || byNumber.firstKey() != 1 || byNumber.lastKey() != total) {
            throw new SafeTensorsException("incomplete or mixed shards in " + dir + ": " + byNumber.values()
                    + " (expected shards 1 to " + total + " of " + total + ")");
        }
        return byNumber.values().stream().map(dir::resolve).toList();
    }

    /** The variant names that files in the folder are saved under. */
    private static Set<String> variants(String stem, List<String> names) {
        String q = Pattern.quote(stem);
        List<Pattern> forms = List.of(
                Pattern.compile(q + "\\.([A-Za-z0-9_]+)\\.safetensors"),
                Pattern.compile(q + "\\.safetensors\\.index\\.([A-Za-z0-9_]+)\\.json"),
                Pattern.compile(q + "\\.([A-Za-z0-9_]+)-\\d+-of-\\d+\\.safetensors"),
                Pattern.compile(q + "-\\d+-of-\\d+\\.([A-Za-z0-9_]+)\\.safetensors"),
                Pattern.compile(Pattern.quote(binStem(stem)) + "\\.([A-Za-z0-9_]+)\\.bin"),
                Pattern.compile(Pattern.quote(binStem(stem)) + "\\.bin\\.index\\.([A-Za-z0-9_]+)\\.json"));
        Set<String> out = new TreeSet<>();
        for (String n : names) {
            for (Pattern p : forms) {
                Matcher m = p.matcher(n);
                if (m.matches()) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    private static SafeTensorsException missing(Path dir, String stem, String what, List<String> names) {
        Set<String> variants = variants(stem, names);
        return new SafeTensorsException(what + " in " + dir + "; it contains " + names
                + (variants.isEmpty() ? "" : " (weight variants " + variants + ")"));
    }

    private static List<String> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new SafeTensorsException("weights folder " + dir + " does not exist");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new SafeTensorsException("cannot list " + dir + ": " + e, e);
        }
    }
}

import io.texforce.clip.text.ClipTextModel;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.model.UNet2DConditionModel;

import java.nio.file.Path;

/**
 * Loads one component's adapters from a LoRA file and writes them back with {@link LoraNetwork#save}, so that
 * check_diffusers_lora.py can hand diffusers a file of ours with per-layer ranks and alphas (rank_pattern /
 * alpha_pattern). Run as a single-file program on the CLI's class path:
 * {@code java -cp "texforce-examples/target/texforce-examples.jar:texforce-examples/target/lib/*" ResaveLora.java
 * MODEL_DIR text_encoder|unet IN OUT}.
 */
public class ResaveLora {
    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: ResaveLora MODEL_DIR text_encoder|unet IN.safetensors OUT.safetensors");
            System.exit(2);
        }
        Path model = Path.of(args[0]), in = Path.of(args[2]), out = Path.of(args[3]);
        LoraNetwork n = switch (args[1]) {
            case "text_encoder" -> ClipTextModel.load(model).loadLora(in, "resave", 1f);
            case "unet" -> UNet2DConditionModel.load(model).loadLora(in, "resave", 1f);
            default -> throw new IllegalArgumentException("component must be text_encoder or unet, got " + args[1]);
        };
        n.save(out);
    }
}

// `vector-boot pixels R,G,B ...`: runs a pixel program through the model's pixel head and prints the result.
import { z } from "zod";
import { parsePixelArgs } from "../neural/pixel-input.ts";
import { NeuralRuntime } from "../neural/runtime.ts";
import { out, parseCommandArgs } from "../util/cli-args.ts";
import { type Command, wantsHelp } from "./command.ts";

const help = `Usage: vector-boot pixels [--model FILE] [--json] R,G,B [R,G,B ...]

Runs a pixel program (RGB triples, each channel an integer 0..255) through the pixel head of the
model and prints the result vector. Prints "1" on the first line when the execution succeeded (the
seed's status), then the result; exits 2 when the model fails, 65 on bad pixels.

Options:
  --model FILE  a .gguf or .rts file (default: the model embedded in the executable, or
                dist/vectorland.gguf when running from source)
  --json        one JSON object: { ok, pixels, output, top, elapsedMs, model }
  -h, --help    this text

Examples:
  vector-boot pixels 72,101,108 101,108,108 108,111,111 250,255,0
  vector-boot pixels --model dist/vectorland.gguf --json 0,0,0`;

const schema = z.object({
  model: z.string().min(1).optional(),
  json: z.boolean().optional(),
  positionals: z.array(z.string()).min(1, "give at least one pixel as R,G,B"),
});

export const command: Command = {
  name: "pixels",
  summary: "run a pixel program (R,G,B triples) through the model's pixel head",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    // The one argument parser of the commands (it printed its own message twice: "X <- caused by: invalid input: X").
    const parsed = parseCommandArgs("pixels", args, { model: { type: "string" }, json: { type: "boolean" } }, schema);
    const pixels = parsePixelArgs(parsed.positionals);
    const rt = new NeuralRuntime();
    if (parsed.model !== undefined) {
      await rt.init(parsed.model);
    } else {
      const { openModelSource } = await import("../rts/model-source.ts");
      await rt.init(openModelSource());
    }
    try {
      const r = rt.executePixels(pixels);
      const output = Array.from(r.output, (v) => Number(v.toPrecision(7)));
      if (parsed.json) {
        out(JSON.stringify({ ok: true, pixels: r.pixels, output, top: r.top, elapsedMs: r.elapsedMs, model: rt.info().name }));
      } else {
        out("1");
        out(`pixels: ${r.pixels}  top: ${r.top.index} (${r.top.value.toFixed(6)})  time: ${r.elapsedMs.toFixed(3)} ms`);
        out(`result: ${output.map((v) => v.toFixed(6)).join(" ")}`);
      }
      return 0;
    } finally {
      rt.cleanup();
    }
  },
};

// Activation functions named in vectorland metadata, applied in place to a layer's output.

export const activationNames = ["identity", "relu", "sigmoid", "tanh", "gelu", "silu", "softmax"] as const;
export type Activation = (typeof activationNames)[number];

export function isActivation(s: string): s is Activation {
  return (activationNames as readonly string[]).includes(s);
}

/** Applies `act` to v[0..n) in place. Allocation-free. */
export function applyActivation(act: Activation, v: Float32Array, n: number): void {
  switch (act) {
    case "identity":
      return;
    case "relu":
      for (let i = 0; i < n; i++) if (!(v[i]! > 0)) v[i] = 0;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) v[i] = 1 / (1 + Math.exp(-v[i]!));
      return;
    case "tanh":
      for (let i = 0; i < n; i++) v[i] = Math.tanh(v[i]!);
      return;
    case "gelu":
      // tanh approximation, as ggml_gelu.
      for (let i = 0; i < n; i++) {
        const x = v[i]!;
        v[i] = 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
      }
      return;
    case "silu":
      for (let i = 0; i < n; i++) v[i] = v[i]! / (1 + Math.exp(-v[i]!));
      return;
    case "softmax": {
      let max = -Infinity;
      for (let i = 0; i < n; i++) if (v[i]! > max) max = v[i]!;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const e = Math.exp(v[i]! - max);
        v[i] = e;
        sum += e;
      }
      for (let i = 0; i < n; i++) v[i] = v[i]! / sum;
      return;
    }
  }
}

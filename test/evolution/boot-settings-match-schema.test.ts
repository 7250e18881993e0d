// The boot opens evolution with its config's settings unvalidated a second time: they must be exactly what the evolution schema would give, at every bound the config allows.
import { expect, test } from "bun:test";
import { evolutionSettings } from "../../src/boot/evolution-phase.ts";
import { evolutionDefaults } from "../../src/config/evolution-schema.ts";
import { configSchema, defaultConfig, type Config } from "../../src/config/schema.ts";
import { EvolutionConfigSchema } from "../../src/evolution/evolution.ts";

const paths = { state_dir: "/var/lib/vector-boot", run_dir: "/run/vector-boot" };

function settingsOf(config: Config) {
  const settings = evolutionSettings({ ...config, ...paths });
  const r = EvolutionConfigSchema.safeParse(settings);
  return { settings, parsed: r.success ? r.data : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) };
}

test("the boot opened evolution with settings the evolution schema would refuse or change (the config's bounds or defaults drifted from it)", () => {
  const defaults = settingsOf(defaultConfig());
  expect(defaults.parsed).toStrictEqual(defaults.settings);
  // Every bound the config schema accepts, low and high: the evolution and gate schemas take it as it is.
  const low = configSchema.parse({ evolution: { rings: 1, slots: 2, drain_per_beat: 1, min_confidence: 0, max_magnitude: Number.MIN_VALUE, mutable_types: [], checkpoint_every_s: 0, compact: false, repair: true } });
  const high = configSchema.parse({ evolution: { rings: 64, slots: 4096, drain_per_beat: 100_000, min_confidence: 1, max_magnitude: Number.MAX_VALUE, mutable_types: [...evolutionDefaults.mutable_types], enabled: false } });
  for (const config of [low, high]) {
    const { settings, parsed } = settingsOf(config);
    expect(parsed).toStrictEqual(settings);
  }
  // What the config refuses, the evolution schema need not see (slots not a power of two, rings past 64).
  expect(configSchema.safeParse({ evolution: { slots: 3 } }).success).toBe(false);
  expect(configSchema.safeParse({ evolution: { rings: 65 } }).success).toBe(false);
});

test("a library caller's openEvolution had 64 slots and refused Q4_0/Q8_0/Q4_K/Q6_K mutations where a boot with no config file has 512 and takes them (the library's defaults were not the config's)", () => {
  const boot = evolutionSettings({ ...defaultConfig(), ...paths });
  // What a library caller gets naming only its state and run directories.
  const library = EvolutionConfigSchema.parse({ stateDir: paths.state_dir, runDir: paths.run_dir });
  expect(library).toStrictEqual(boot);
  expect(library.slots).toBe(512);
  expect(library.gate.supportedTypes).toContain("Q8_0");
});

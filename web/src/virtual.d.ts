/** The name lists bundled at build time (vite.config.ts, plugin "rnnkit-names"). */
declare module "virtual:names" {
  export const female: readonly string[];
  export const male: readonly string[];
}

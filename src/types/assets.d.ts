// Type of files imported `with { type: "file" }`: Bun gives their path (extracted when compiled).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*/preinit" {
  const path: string;
  export default path;
}

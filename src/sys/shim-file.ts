// The shim library's path: dist/native/libvbshim.so beside the sources, or its copy embedded in the executable (a `type: "file"` import).
/// <reference path="../types/assets.d.ts" />
import shimFile from "../../dist/native/libvbshim.so" with { type: "file" };
import { nameShimFile } from "./shim-path.ts";

nameShimFile(shimFile);

export default shimFile;

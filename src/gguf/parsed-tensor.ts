// A tensor of a parsed GGUF: its info fields, and a zero-copy view of its bytes made on first access.
export interface GgufTensor {
  readonly name: string;
  /** ggml type id. */
  readonly type: number;
  readonly typeName: string;
  /** Dimensions in ggml order (fastest-varying first). */
  readonly ne: readonly number[];
  readonly nElements: number;
  readonly nBytes: number;
  /** Offset from the start of the data section. */
  readonly relOffset: number;
  /** Offset from the start of the bytes given to readGguf. */
  readonly absOffset: number;
  /** Byte offset of this tensor's info record in the header. */
  readonly infoOffset: number;
  /** Zero-copy view of the tensor's bytes (in the file's byte order). */
  readonly data: Uint8Array;
}

/** What a tensor info record says, with where its fields sit (for errors). */
export interface RawInfo {
  name: string;
  type: number;
  typeName: string;
  ne: number[];
  nElements: number;
  nBytes: number;
  rel: number;
  infoAt: number;
  offsetAt: number;
}

/** A parsed tensor. Its `data` view is made on first access: parsing 1,000 infos makes no views. */
export class ParsedTensor implements GgufTensor {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly ne: readonly number[];
  readonly nElements: number;
  readonly nBytes: number;
  readonly relOffset: number;
  readonly infoOffset: number;
  readonly absOffset: number;
  readonly #file: Uint8Array;
  #view: Uint8Array | null = null;

  constructor(file: Uint8Array, r: RawInfo, absOffset: number) {
    this.#file = file;
    this.absOffset = absOffset;
    this.name = r.name;
    this.type = r.type;
    this.typeName = r.typeName;
    this.ne = r.ne;
    this.nElements = r.nElements;
    this.nBytes = r.nBytes;
    this.relOffset = r.rel;
    this.infoOffset = r.infoAt;
  }

  /** Zero-copy view of the tensor's bytes (the same view on every access). */
  get data(): Uint8Array {
    return (this.#view ??= this.#file.subarray(this.absOffset, this.absOffset + this.nBytes));
  }
}

import * as protobuf from 'protobufjs';
import { ONNX_SCHEMA } from './schema';

/** ONNX IR version and default-domain opset every Retain graph declares (int4 + blocked/per-axis DequantizeLinear need 21 / IR 10). */
export const IR_VERSION = 10;
export const OPSET = 21;

/** TensorProto.DataType codes for the element types the engine uses. */
export const DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
} as const;
export type DType = keyof typeof DATA_TYPE;

// Plain-object shapes of the messages (field names as in onnx.proto, keepCase).
export interface DimensionProto {
  dim_value?: number;
  dim_param?: string;
}
export interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape?: { dim: DimensionProto[] } } };
}
export interface AttributeValue {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoObject;
  g?: GraphProtoObject;
  floats?: number[];
  ints?: number[];
}
export interface NodeProtoObject {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain?: string;
  attribute: AttributeValue[];
}
export interface TensorProtoObject {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
export interface GraphProtoObject {
  name: string;
  node: NodeProtoObject[];
  initializer: TensorProtoObject[];
  input: ValueInfo[];
  output: ValueInfo[];
}
export interface ModelProtoObject {
  ir_version: number;
  producer_name: string;
  producer_version?: string;
  opset_import: { domain: string; version: number }[];
  graph: GraphProtoObject;
  metadata_props?: { key: string; value: string }[];
}

let modelType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

export function encodeModel(model: ModelProtoObject): Uint8Array {
  const type = modelProto();
  return type.encode(type.fromObject(model)).finish();
}

/** Decodes a ModelProto (used to inspect exported models, e.g. in tests). */
export function decodeModel(bytes: Uint8Array): ModelProtoObject {
  const type = modelProto();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: false, arrays: true }) as ModelProtoObject;
}

import { numel, type TensorMap } from '../tensor';
import { GraphSession, type SessionOptions } from './graph-session';
import { toValues } from './train-session';

/**
 * Runs an eval graph (params fed once through `feedsConst`) or a standalone inference model
 * (weights inside) in its own thread: input 'x', outputs 'logits' and, when present, 'pred'.
 */
export class InferenceSession {
  private constructor(
    private readonly session: GraphSession,
    /** Per-example input dims, read from the model's 'x' input. */
    readonly inputDims: number[],
  ) {}

  static async create(modelBytes: Uint8Array, feedsConst: TensorMap = {}, opts: SessionOptions = {}): Promise<InferenceSession> {
    const session = await GraphSession.create(modelBytes, toValues(feedsConst), opts);
    const x = session.inputs.find((i) => i.name === 'x');
    const dims = x?.shape.slice(1);
    const problem = !x
      ? `the model has no input 'x' (inputs: ${session.inputs.map((i) => i.name).join(', ')})`
      : !dims!.every((d): d is number => typeof d === 'number')
        ? `input 'x' must be [B, ...static dims], got [${x.shape.join(', ')}]`
        : !session.outputs.some((o) => o.name === 'logits')
          ? `the model has no output 'logits'`
          : session.inputs.filter((i) => i.name !== 'x' && !feedsConst[i.name]).map((i) => `input '${i.name}' is not in feedsConst`)[0];
    if (problem) {
      await session.close();
      throw new Error(`InferenceSession.create: ${problem}`);
    }
    return new InferenceSession(session, dims as number[]);
  }

  async run(x: Float32Array, batch: number): Promise<{ logits: Float32Array; pred?: BigInt64Array }> {
    const features = numel(this.inputDims);
    if (x.length !== batch * features)
      throw new Error(
        `InferenceSession.run: x has ${x.length} values, batch ${batch} x [${this.inputDims.join(', ')}] needs ${batch * features}`,
      );
    const out = await this.session.run({
      x: {
        dtype: 'float32',
        dims: [batch, ...this.inputDims],
        data: x.byteOffset === 0 && x.byteLength === x.buffer.byteLength ? x : x.slice(),
      },
    });
    return { logits: out.logits.data as Float32Array, pred: out.pred?.data as BigInt64Array | undefined };
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

import { crc32c } from '@node-rs/crc32';
import { Root } from 'protobufjs';
import type { Scalar } from './tracker-scalars';

// TensorBoard's event file, written offline: a TFRecord file (each record: length as uint64 LE,
// masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes) of `tensorboard.Event`
// protobufs. The first event names the file version; each later one carries a Summary of scalars
// (`simple_value`, a float32, as TensorFlow's and PyTorch's writers store scalars). Encoded with
// protobufjs from the fields of TensorBoard's event.proto and summary.proto that scalars use
// (tensorboard/compat/proto/), with their field numbers; CRC-32C from @node-rs/crc32.

const schema = Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              // A oneof member is encoded whenever set, so a scalar of 0 is written (a plain proto3 field at its default is not).
              oneofs: { value: { oneof: ['simpleValue'] } },
              fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } },
            },
          },
        },
      },
    },
  },
});
const EventType = schema.lookupType('tensorboard.Event');

/** The version string TensorFlow and TensorBoard write as an event file's first event. */
export const EVENT_FILE_VERSION = 'brain.Event:2';

/** CRC-32C masked as TFRecord does (so that a CRC of data holding CRCs stays well distributed). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

/**
 * A whole event file: the version event, then one event per step holding that step's scalars,
 * in step order. `wallTime(step)` gives each event's time (seconds since the epoch).
 */
export function eventFile(scalars: Scalar[], wallTime: (step: number) => number): Buffer {
  const byStep = new Map<number, Scalar[]>();
  for (const s of scalars) byStep.set(s.step, [...(byStep.get(s.step) ?? []), s]);
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const events = [
    { wallTime: wallTime(steps[0] ?? 0), fileVersion: EVENT_FILE_VERSION },
    ...steps.map((step) => ({
      wallTime: wallTime(step),
      step,
      summary: { value: byStep.get(step)!.map((s) => ({ tag: s.tag, simpleValue: s.value })) },
    })),
  ];
  return Buffer.concat(events.map((e) => tfRecord(EventType.encode(EventType.fromObject(e)).finish())));
}

/**
 * The file name TensorBoard looks for (`events.out.tfevents.<time>.<host>`): a fixed time and host,
 * so exporting the same run again writes the same file instead of adding a second one.
 */
export function eventFileName(time: number): string {
  return `events.out.tfevents.${Math.floor(time)}.retain`;
}

/** Reads an event file back (for tests and checks): each record's CRCs verified, each event decoded. */
export function readEventFile(bytes: Buffer): Array<{ wallTime: number; step: number; fileVersion?: string; scalars: Scalar[] }> {
  const events = [];
  for (let at = 0; at < bytes.length;) {
    const length = Number(bytes.readBigUInt64LE(at));
    if (bytes.readUInt32LE(at + 8) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error(`bad length CRC at byte ${at}`);
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (bytes.readUInt32LE(at + 12 + length) !== maskedCrc32c(data)) throw new Error(`bad data CRC at byte ${at}`);
    const e = EventType.toObject(EventType.decode(data), { longs: Number, defaults: true }) as {
      wallTime: number;
      step: number;
      fileVersion?: string;
      summary?: { value: Array<{ tag: string; simpleValue: number }> };
    };
    events.push({
      wallTime: e.wallTime,
      step: e.step,
      ...(e.fileVersion ? { fileVersion: e.fileVersion } : {}),
      scalars: (e.summary?.value ?? []).map((v) => ({ tag: v.tag, step: e.step, value: v.simpleValue })),
    });
    at += 12 + length + 4;
  }
  return events;
}

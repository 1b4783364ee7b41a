import type { TensorMap } from '@retain/engine';

/** One segment of a dotted name: a word, a task index, a param name (which may hold dots itself). */
export type NamePart = string | number;

/**
 * Dotted tensor names under one prefix, e.g. 'ewc.0.fisher.<param>': built, read and written
 * here so that no method spells them by hand. The root namespace has no prefix.
 */
export class Namespace {
  /** The dotted prefix without its trailing dot ('ewc.0'); '' for the root. */
  readonly path: string;

  constructor(parts: readonly NamePart[] = []) {
    this.path = parts.join('.');
  }

  /** '<path>.<parts>' (just '<parts>' at the root). */
  name(first: NamePart, ...rest: NamePart[]): string {
    return this.prefix() + [first, ...rest].join('.');
  }

  /** The namespace '<path>.<parts>'. */
  sub(first: NamePart, ...rest: NamePart[]): Namespace {
    return new Namespace([this.name(first, ...rest)]);
  }

  /** The tensors of `tensors` named in this namespace, keyed by the rest of their names. */
  read(tensors: TensorMap | undefined): TensorMap {
    const prefix = this.prefix();
    const out: TensorMap = {};
    for (const [name, t] of Object.entries(tensors ?? {})) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t;
    return out;
  }

  /** `tensors` renamed into this namespace ('<path>.<name>'), in the same order. */
  write(tensors: TensorMap): TensorMap {
    return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [this.name(name), t]));
  }

  private prefix(): string {
    return this.path ? `${this.path}.` : '';
  }
}

/** Where a method's names live. */
export interface MethodNamespace {
  /**
   * Its step-graph inputs (constants, step state, batch inputs): always '<method>.…', since they
   * share one graph with the params, the optimizer state and every other input.
   */
  inputs: Namespace;
  /** The keys of its state artifact (the method's own tensors between tasks). */
  state: Namespace;
}

export interface NamespaceOptions {
  /**
   * 'unprefixed': state keys without the method's name ('fisher.<param>'). The artifact holds one
   * method's state only, so nothing can clash; online-ewc, si, adaptive-lr and lwf have always
   * stored their keys so, and stored artifacts and checkpoints must keep reading back.
   */
  state?: 'prefixed' | 'unprefixed';
}

/** The names of method `method`: 'ewc' gives inputs 'ewc.0.weight.<param>' and state 'ewc.0.fisher.<param>'. */
export function namespace(method: string, options: NamespaceOptions = {}): MethodNamespace {
  const own = new Namespace([method]);
  return { inputs: own, state: options.state === 'unprefixed' ? new Namespace() : own };
}

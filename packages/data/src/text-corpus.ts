import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadOnce } from './load-once';

/**
 * The text domains: real English text and code that Debian packages install, each a list of
 * documents. A domain's files are the ones its package owns (`dpkg-query -L`), not whatever else
 * shares the folder, so the corpus is the same on every machine with the same package versions.
 */
export interface TextDomain {
  /** What the text is, for docs and messages. */
  description: string;
  /** The Debian packages to install ("apt-get install ..."): every one must be there. */
  packages: string[];
  /** The document files, sorted: from the packages' file lists, or a folder only the package fills. */
  files(): string[];
  /** Splits a file into documents (default: the file is one document). */
  documents?(text: Uint8Array): Uint8Array[];
  /** Leaves out documents that are not text of the domain (e.g. a man page that only points at another). */
  keep?(text: Uint8Array): boolean;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Regular files (not links: Debian links GPL to GPL-3, and the like) owned by `packages` whose path matches. */
function ownedFiles(packages: string[], path: RegExp): string[] {
  const files = packages.flatMap((p) => dpkgFiles(p).filter((f) => path.test(f) && isRegularFile(f)));
  return [...new Set(files)].sort();
}

/** The regular files under `dir` (recursively) whose name matches. */
function folderFiles(dir: string, name: RegExp): string[] {
  const entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  return entries
    .map((e) => join(dir, e))
    .filter((f) => name.test(f) && isRegularFile(f))
    .sort();
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

function dpkgFiles(pkg: string): string[] {
  try {
    return execFileSync('dpkg-query', ['-L', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
  } catch {
    return [];
  }
}

/** Whether the Debian package is installed (dpkg-query's status). */
export function packageInstalled(pkg: string): boolean {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return status.trim().endsWith(' installed');
  } catch {
    return false;
  }
}

/** A fortune file is a list of fortunes, each ended by a line holding only '%'. */
function splitFortunes(text: Uint8Array): Uint8Array[] {
  return utf8
    .decode(text)
    .split(/^%\n/m)
    .map((f) => f.trim())
    .filter((f) => f.length > 0)
    .map((f) => encoder.encode(`${f}\n`));
}

/** A man page whose whole source is `.so other-page` only points at another page. */
const isManPageStub = (text: Uint8Array) => text.length < 256 && /^\.so\s+\S+\s*$/.test(utf8.decode(text));

export const TEXT_DOMAINS = {
  licences: {
    description: 'licence texts (GPL, Apache, MPL, ...): English legal prose',
    packages: ['base-files'],
    files: () => ownedFiles(['base-files'], /^\/usr\/share\/common-licenses\/[^/]+$/),
  },
  manpages: {
    description: 'Linux manual pages, sections 1, 4, 5, 7 and 8, as their roff source',
    packages: ['manpages'],
    files: () => ownedFiles(['manpages'], /^\/usr\/share\/man\/man[0-9]\/[^/]+\.gz$/),
    keep: (text: Uint8Array) => !isManPageStub(text),
  },
  'python-docs': {
    description: "Python's documentation, as its reStructuredText source",
    packages: ['python3-doc'],
    // python3-doc only links /usr/share/doc/python3/html to the versioned package's folder
    // (python3.11-doc on Debian 12), whose _sources hold only this documentation.
    files: () => folderFiles('/usr/share/doc/python3/html/_sources', /\.txt$/),
  },
  'c-headers': {
    description: "the GNU C library's headers: C declarations, macros and comments",
    packages: ['libc6-dev'],
    files: () => ownedFiles(['libc6-dev'], /^\/usr\/include\/.+\.h$/),
  },
  fortunes: {
    description: 'fortune cookies: quotations, jokes and short verse, one document per fortune',
    packages: ['fortunes', 'fortunes-min'],
    files: () => ownedFiles(['fortunes', 'fortunes-min'], /^\/usr\/share\/games\/fortunes\/[^/.]+$/),
    documents: splitFortunes,
  },
} satisfies Record<string, TextDomain>;

export type TextDomainName = keyof typeof TEXT_DOMAINS;
export const TEXT_DOMAIN_NAMES = Object.keys(TEXT_DOMAINS) as TextDomainName[];

export function isTextDomainName(name: string): name is TextDomainName {
  return Object.hasOwn(TEXT_DOMAINS, name);
}

/** A domain's packages that are not installed (empty when all are). */
export function missingPackages(name: TextDomainName): string[] {
  return TEXT_DOMAINS[name].packages.filter((p) => !packageInstalled(p));
}

/**
 * A domain's package is not installed. Named DatasetNotFoundError, the failure type of a dataset
 * missing where Retain looks (packages/sdk/src/errors.ts), so the run fails at once with that type.
 */
export class TextDomainMissingError extends Error {
  override readonly name = 'DatasetNotFoundError';
  constructor(
    readonly domain: string,
    readonly packages: string[],
  ) {
    super(
      `text domain '${domain}' needs the Debian package${packages.length > 1 ? 's' : ''} ${packages.join(', ')}, ` +
        `which ${packages.length > 1 ? 'are' : 'is'} not installed: run "apt-get install ${packages.join(' ')}" ` +
        `(infra/setup.sh does), or leave '${domain}' out of domains`,
    );
  }
}

/** One document of a domain: where it came from and its bytes. */
export interface TextDocument {
  /** The file, with '#k' for the k-th document of a file that holds several. */
  id: string;
  bytes: Uint8Array;
}

/**
 * Every document of a domain in a fixed order (by file, then position in the file), read once
 * per process. Throws TextDomainMissingError when a package is not installed.
 */
export const loadDomainDocuments: (name: TextDomainName) => Promise<TextDocument[]> = loadOnce(readDomain);

async function readDomain(name: TextDomainName): Promise<TextDocument[]> {
  const missing = missingPackages(name);
  if (missing.length > 0) throw new TextDomainMissingError(name, missing);
  const domain: TextDomain = TEXT_DOMAINS[name];
  const files = domain.files();
  if (files.length === 0) throw new TextDomainMissingError(name, domain.packages);
  const contents = await Promise.all(
    files.map(async (file) => {
      const raw = await readFile(file);
      const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }),
  );
  const docs: TextDocument[] = [];
  files.forEach((file, f) => {
    const parts = domain.documents ? domain.documents(contents[f]) : [contents[f]];
    parts.forEach((bytes, k) => {
      if (bytes.length > 0 && (domain.keep?.(bytes) ?? true)) docs.push({ id: parts.length > 1 ? `${file}#${k}` : file, bytes });
    });
  });
  return docs;
}

/**
 * The "inside-out" I/O plug-in: the only way a workload reaches data the TCS hosts outside the
 * worker, and DirectoryIo, the implementation that serves one host directory.
 *
 * Avalon's inside-out-eval handed an absolute host path to the enclave manager, which opened it
 * with no confinement: any requester could read or overwrite any file the manager could. TCF maps
 * the path a workload gives to a name under one hosted directory instead. A relative name is taken
 * from that directory; an absolute path is accepted only when it already lies inside it, so an
 * Avalon client that named `/srv/data/read.txt` keeps working when the operator hosts `/srv/data`.
 * Names with `..` segments or NUL bytes are refused outright, and every path is resolved with
 * realpath and must stay under the directory's own realpath, so a symlink inside the directory
 * cannot lead out of it. The final open uses O_NOFOLLOW, so a link swapped in after the check is not
 * followed; swapping a parent directory in that window needs write access to the hosted directory,
 * which requesters do not get through this interface (it writes regular files only).
 *
 * Failures are ExternalIoError. Its `reason` is what a workload may show a requester: Avalon's own
 * wording where Avalon had one, and never a host path.
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ExternalIo {
  read(name: string): Promise<Buffer>;
  /** Creates the file or replaces its content. */
  write(name: string, data: Uint8Array): Promise<void>;
}

/** Avalon's status text for a file that cannot be opened, kept so TCF's outputs match. */
export const UNABLE_TO_OPEN = 'Unable to open file';

export class ExternalIoError extends Error {
  override readonly name = 'ExternalIoError';
  constructor(
    /** The name the workload asked for. */
    readonly file: string,
    readonly reason: string,
    detail?: string,
  ) {
    super(`external I/O "${file}": ${reason}${detail === undefined ? '' : ` (${detail})`}`);
  }
}

/** For workers that host no data: every access fails the way a missing file would. */
export const NO_EXTERNAL_IO: ExternalIo = {
  read: (name) => Promise.reject(new ExternalIoError(name, UNABLE_TO_OPEN, 'this worker hosts no external data')),
  write: (name) => Promise.reject(new ExternalIoError(name, UNABLE_TO_OPEN, 'this worker hosts no external data')),
};

export interface DirectoryIoOptions {
  /** Largest file a workload may read, so a hosted file cannot exhaust the worker's memory. */
  maxReadBytes?: number;
}

export const DEFAULT_MAX_READ_BYTES = 1024 * 1024;

export class DirectoryIo implements ExternalIo {
  readonly root: string;
  readonly maxReadBytes: number;

  /** The directory need not exist yet: the worker may start before the operator provisions it. */
  constructor(rootDir: string, options: DirectoryIoOptions = {}) {
    this.root = path.resolve(rootDir);
    this.maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
  }

  async read(name: string): Promise<Buffer> {
    const file = await this.#locate(name, 'read');
    const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch((error: unknown) => {
      throw openFailure(name, error);
    });
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new ExternalIoError(name, UNABLE_TO_OPEN, 'not a regular file');
      if (stat.size > this.maxReadBytes) throw this.#tooLarge(name);
      const data = await handle.readFile();
      if (data.length > this.maxReadBytes) throw this.#tooLarge(name);
      return data;
    } catch (error) {
      throw error instanceof ExternalIoError ? error : openFailure(name, error);
    } finally {
      await handle.close();
    }
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    const file = await this.#locate(name, 'write');
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;
    const handle = await fs.open(file, flags).catch((error: unknown) => {
      throw openFailure(name, error);
    });
    try {
      await handle.writeFile(data);
    } catch (error) {
      throw openFailure(name, error);
    } finally {
      await handle.close();
    }
  }

  /** The real path `name` stands for, checked to lie inside the hosted directory. */
  async #locate(name: string, mode: 'read' | 'write'): Promise<string> {
    if (name.length === 0) throw new ExternalIoError(name, 'the file name is empty');
    if (name.includes('\0')) throw new ExternalIoError(name, 'the file name contains a NUL byte');
    if (name.split(/[\\/]/).includes('..')) throw new ExternalIoError(name, 'the file name must not contain ".." segments');

    let realRoot: string;
    try {
      realRoot = await fs.realpath(this.root);
    } catch (error) {
      throw new ExternalIoError(name, UNABLE_TO_OPEN, `the hosted directory is unavailable: ${errnoCode(error)}`);
    }

    let candidate: string;
    if (path.isAbsolute(name)) {
      const absolute = path.resolve(name);
      const base = isWithin(this.root, absolute) ? this.root : isWithin(realRoot, absolute) ? realRoot : undefined;
      if (base === undefined) throw outside(name);
      candidate = path.join(realRoot, path.relative(base, absolute));
    } else {
      candidate = path.resolve(realRoot, name);
    }

    let real: string;
    try {
      real = await fs.realpath(candidate);
    } catch (error) {
      if (mode === 'read' || errnoCode(error) !== 'ENOENT') throw openFailure(name, error);
      real = await this.#newFilePath(name, candidate);
    }
    if (!isWithin(realRoot, real)) throw outside(name);
    return real;
  }

  /** For a file about to be created: its directory's real path, and never through a dangling link. */
  async #newFilePath(name: string, candidate: string): Promise<string> {
    const stat = await fs.lstat(candidate).catch(() => undefined);
    if (stat?.isSymbolicLink()) throw new ExternalIoError(name, UNABLE_TO_OPEN, 'a symbolic link to a missing file');
    try {
      return path.join(await fs.realpath(path.dirname(candidate)), path.basename(candidate));
    } catch (error) {
      throw openFailure(name, error);
    }
  }

  #tooLarge(name: string): ExternalIoError {
    return new ExternalIoError(name, `the file is larger than ${this.maxReadBytes} bytes`);
  }
}

function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function outside(name: string): ExternalIoError {
  return new ExternalIoError(name, 'the path is outside the hosted directory');
}

/** Only the errno code goes into the message: Node's own message carries the host path. */
function openFailure(name: string, error: unknown): ExternalIoError {
  return new ExternalIoError(name, UNABLE_TO_OPEN, errnoCode(error));
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'I/O error';
}

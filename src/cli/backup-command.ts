import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { AppError } from "../errors.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";

/**
 * A backup is one POSIX tar (ustar) file, readable with `tar -tf`: `gleaner-backup.json` (what
 * it holds), `gleaner.db` (an online-backup copy of the database) and `indexes/*` (the HNSW
 * files as last saved; restore rebuilds or reconciles any that do not match the database).
 */
const MANIFEST = "gleaner-backup.json";
const BLOCK = 512;
const COPY_BUFFER = 1 << 20;
const SAFE_ENTRY = /^(gleaner-backup\.json|gleaner\.db|indexes\/[A-Za-z0-9._-]+)$/;

interface BackupManifest {
  format: "gleaner-backup";
  version: 1;
  created_at: string;
  files: string[];
}

/** `gleaner backup <file>`: snapshots the data directory (safe while a server is running). */
export async function backupCommand(dataDir: string, file: string): Promise<string> {
  if (!existsSync(join(dataDir, "gleaner.db"))) {
    throw new AppError("not_found", `There is no Gleaner database in ${resolve(dataDir)}.`);
  }
  const target = resolve(file);
  const staging = join(dirname(target), `.${basename(target)}.staging-${process.pid}`);
  const partial = `${target}.partial-${process.pid}`;
  try {
    const report = await SqliteStore.backupDataDir(dataDir, staging);
    const manifest: BackupManifest = {
      format: "gleaner-backup",
      version: 1,
      created_at: new Date().toISOString(),
      files: report.files,
    };
    writeTar(partial, staging, manifest);
    // the finished file appears at once, so a half-written backup is never mistaken for one
    renameSync(partial, target);
    const bytes = statSync(target).size;
    return `Backed up ${report.files.length} files (${formatBytes(bytes)}) to ${target}`;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

/** `gleaner restore <file>`: unpacks a backup into an empty (or absent) data directory. */
export async function restoreCommand(dataDir: string, file: string): Promise<string> {
  const source = resolve(file);
  if (!existsSync(source)) throw new AppError("not_found", `No backup file at ${source}.`);
  if (existsSync(join(dataDir, "gleaner.db")) || existsSync(join(dataDir, "indexes"))) {
    throw new AppError(
      "conflict",
      `${resolve(dataDir)} already holds a Gleaner database; restore into an empty GLEANER_DATA_DIR (stop the server, move the old directory aside).`,
    );
  }
  mkdirSync(join(dataDir, "indexes"), { recursive: true });
  const undo = (): void => {
    for (const name of [MANIFEST, "gleaner.db", "indexes"]) {
      rmSync(join(dataDir, name), { recursive: true, force: true });
    }
  };
  let files: string[];
  try {
    files = readTar(source, dataDir);
  } catch (error) {
    undo();
    throw error;
  }
  if (!files.includes(MANIFEST) || !files.includes("gleaner.db")) {
    undo();
    throw new AppError("invalid_request", `${source} is not a Gleaner backup.`);
  }
  rmSync(join(dataDir, MANIFEST));
  const db = new Database(join(dataDir, "gleaner.db"), { fileMustExist: true });
  try {
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok")
      throw new AppError(
        "unprocessable",
        `The restored database fails its check: ${String(check)}`,
      );
  } finally {
    db.close();
  }
  return `Restored ${files.length - 1} files into ${resolve(dataDir)}; start the server to serve them.`;
}

function writeTar(path: string, directory: string, manifest: BackupManifest): void {
  const fd = openSync(path, "wx");
  try {
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
    writeEntry(fd, MANIFEST, manifestBytes.length, (write) => write(manifestBytes));
    for (const name of manifest.files) {
      const filePath = join(directory, name);
      const size = statSync(filePath).size;
      writeEntry(fd, name, size, (write) => {
        const input = openSync(filePath, "r");
        const buffer = Buffer.allocUnsafe(COPY_BUFFER);
        try {
          for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer)) {
            write(buffer.subarray(0, read));
          }
        } finally {
          closeSync(input);
        }
      });
    }
    writeSync(fd, Buffer.alloc(BLOCK * 2));
  } finally {
    closeSync(fd);
  }
}

function writeEntry(
  fd: number,
  name: string,
  size: number,
  body: (write: (bytes: Buffer) => void) => void,
): void {
  if (size >= 8 ** 11) throw new AppError("unprocessable", `${name} is too large for a backup.`);
  writeSync(fd, header(name, size));
  let written = 0;
  body((bytes) => {
    writeSync(fd, bytes);
    written += bytes.length;
  });
  if (written !== size) throw new Error(`${name} changed size while it was being backed up.`);
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  if (padding > 0) writeSync(fd, Buffer.alloc(padding));
}

function header(name: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, "utf8");
  block.write("0000644\0", 100, "ascii");
  block.write("0000000\0", 108, "ascii");
  block.write("0000000\0", 116, "ascii");
  block.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii");
  block.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, "0")}\0`,
    136,
    "ascii",
  );
  block.write("        ", 148, "ascii");
  block.write("0", 156, "ascii");
  block.write("ustar\0", 257, "ascii");
  block.write("00", 263, "ascii");
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return block;
}

/** Extracts the entries Gleaner writes (and nothing else, nowhere else); returns their names. */
function readTar(path: string, directory: string): string[] {
  const fd = openSync(path, "r");
  const names: string[] = [];
  try {
    const block = Buffer.alloc(BLOCK);
    let position = 0;
    while (readSync(fd, block, 0, BLOCK, position) === BLOCK && block.some((byte) => byte !== 0)) {
      position += BLOCK;
      const name = block.toString("utf8", 0, 100).replace(/\0.*$/s, "");
      const size = Number.parseInt(block.toString("ascii", 124, 136).replace(/\0.*$/s, ""), 8);
      if (!SAFE_ENTRY.test(name) || !Number.isSafeInteger(size) || size < 0) {
        throw new AppError("invalid_request", `${path} is not a Gleaner backup (entry "${name}").`);
      }
      copyRange(fd, position, size, join(directory, name));
      names.push(name);
      position += Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
  return names;
}

function copyRange(fd: number, start: number, size: number, target: string): void {
  const output = openSync(target, "wx");
  const buffer = Buffer.allocUnsafe(COPY_BUFFER);
  try {
    let copied = 0;
    while (copied < size) {
      const read = readSync(fd, buffer, 0, Math.min(COPY_BUFFER, size - copied), start + copied);
      if (read === 0)
        throw new AppError("invalid_request", `The backup is truncated at ${target}.`);
      writeSync(output, buffer.subarray(0, read));
      copied += read;
    }
  } finally {
    closeSync(output);
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// servers/files/src/index.ts
import { defineServer, defineTool, defineResource, matchTemplate } from 'airmcp';
import { readFile, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

// Every path is resolved inside ROOT (the workspace, unless FILES_ROOT says otherwise):
// `../` and absolute paths that leave it are refused, symlinks included.
const ROOT = resolve(process.env.FILES_ROOT ?? resolve(import.meta.dirname, '../../..'));

async function inside(path: string): Promise<string> {
  const root = await realpath(ROOT);
  const full = await realpath(resolve(root, path)).catch(() => resolve(root, path));
  const rel = relative(root, full);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    // The root's absolute path is the server's business: errors name only what the client asked for.
    throw new Error(`Path "${path}" is outside the files root.`);
  }
  return full;
}

/** Runs a file operation; an fs error says what failed about the client's path, not where the root lives. */
async function withinRoot<T>(path: string, run: (full: string) => Promise<T>): Promise<T> {
  const full = await inside(path);
  try {
    return await run(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : code === 'ENOTDIR' ? 'is not a directory' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code ?? 'error'})`;
    throw new Error(`Path "${path}" ${why}.`);
  }
}

const server = defineServer({
  name: 'files-server',
  version: '1.0.0',
  transport: { type: 'sse', port: 3511 },
  tools: [
    defineTool('read_file', {
      description: 'Read file contents',
      params: { path: { type: 'string', description: 'File path' } },
      handler: async ({ path }) => withinRoot(path, (full) => readFile(full, 'utf-8')),
    }),
    defineTool('list_files', {
      description: 'List directory contents',
      params: { dir: { type: 'string', description: 'Directory path' } },
      handler: async ({ dir }) => {
        const files = await withinRoot(dir, (full) => readdir(full, { withFileTypes: true }));
        return files.map(f => ({ name: f.name, type: f.isDirectory() ? 'directory' : 'file' }));
      },
    }),
  ],
  resources: [
    defineResource('file:///{path}', {
      name: 'file-content',
      description: 'File content as resource',
      handler: async (uri) => {
        const vars = matchTemplate('file:///{path}', uri);
        if (!vars) return 'Not found';
        return withinRoot(vars.path, (full) => readFile(full, 'utf-8'));
      },
    }),
  ],
});

server.start();

/**
 * A real Node-RED process with this package loaded (as `npm start` runs it),
 * in a temporary user dir on 127.0.0.1, for tests that need more than one
 * runtime (scale-out) or a runtime outside the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

export interface NodeRedProcess {
  url: string;
  /** The Node-RED process's id (for its memory in /proc). */
  pid: number;
  log: string[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startNodeRed(userDir: string, flows: object[], env: NodeJS.ProcessEnv): Promise<NodeRedProcess> {
  await fs.mkdir(path.join(userDir, 'node_modules'), { recursive: true });
  const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as { name: string };
  const link = path.join(userDir, 'node_modules', pkg.name);
  // A scoped name lives one folder down (node_modules/@scope/name).
  await fs.mkdir(path.dirname(link), { recursive: true });
  await fs.symlink(root, link, 'dir').catch(() => undefined);
  await fs.writeFile(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const port = await freePort();
  await fs.writeFile(
    path.join(userDir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'info' } } };\n`,
  );
  // NODE_RED_RUNTIME: another Node-RED install (the Node-RED 5 run), as in node-red.ts.
  const red = process.env.NODE_RED_RUNTIME ? path.join(path.resolve(process.env.NODE_RED_RUNTIME), 'red.js') : require.resolve('node-red/red.js');
  const child: ChildProcess = spawn(process.execPath, [red, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start:\n${log.join('')}`)), 60_000);
    const onData = (d: Buffer): void => {
      log.push(d.toString());
      if (/Started flows/.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    child.once('exit', (code) => reject(new Error(`Node-RED exited with ${code}:\n${log.join('')}`)));
  }).catch((err: Error) => {
    // A runtime that never started is not left running (it would keep the test process alive).
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

/**
 * How raw frames get from the ffmpeg reader into Node: straight into frame
 * buffers, without a pipe's stream of fresh chunks.
 *
 * Why: a child's stdout pipe hands Node each 6 MB 1080p frame as about a
 * hundred newly allocated 64 KB buffers. Inside Node-RED that external
 * memory set off a full garbage collection every few frames (bench: 163 in
 * 600 frames, a third of the Node-RED process's CPU). A socket opened with
 * `onread` lets the kernel copy the bytes into a buffer we choose, so each
 * read lands in its frame at the right offset and nothing is allocated per
 * frame once frame buffers are reused.
 *
 * ffmpeg's stdout is the far end of a local socket pair. Node has no
 * socketpair(), so the pair is made by connecting to a one-connection server
 * on a path inside a fresh private (0700) folder, which only this user can
 * reach; the server and the folder are gone before ffmpeg starts. On Windows
 * the plain stdout pipe is used (StreamFrameChannel), as it is wherever the
 * socket pair cannot be made.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface FrameChannel {
  /** The next complete frame, or null when none is ready yet. Taking one lets the next be read. */
  take(): Buffer | null;
  /** True once the stream has ended (end of file, or an error on our side of it). */
  readonly ended: boolean;
  /** Bytes of a frame that had begun when the stream ended. */
  readonly partialBytes: number;
  /** Stops reading; ffmpeg's next write fails and it exits. */
  close(): void;
}

export interface ChannelCallbacks {
  frameBytes: number;
  /** A buffer of frameBytes to fill (a reused one when there is one). */
  allocate: () => Buffer;
  /** Something changed: a frame is ready, or the stream ended. */
  changed: () => void;
}

/**
 * Reads frames from a socket into frame buffers, one frame ahead at most.
 * A frame buffer is taken only once the first bytes of its frame have come:
 * until then reads land in a small scratch buffer, so a buffer handed back
 * (recycled) after a frame was taken can carry the next one.
 */
export class SocketFrameChannel implements FrameChannel {
  ended = false;
  private current: Buffer | null = null;
  private filled = 0;
  private ready: Buffer | null = null;
  private socket: net.Socket | null = null;
  private readonly scratch: Buffer;

  constructor(private readonly cb: ChannelCallbacks) {
    // No larger than a frame, so that one read never spans two frames.
    this.scratch = Buffer.allocUnsafeSlow(Math.min(64 * 1024, cb.frameBytes));
  }

  /** The onread options for our end of the pair: every read lands in the frame being filled. */
  readOptions(): net.OnReadOpts {
    return {
      buffer: () => (this.current ? this.current.subarray(this.filled) : this.scratch),
      callback: (bytes: number, buf: Uint8Array) => this.received(bytes, buf),
    };
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    const end = (): void => {
      this.ended = true;
      this.cb.changed();
    };
    socket.once('end', end);
    // A reset or a closed socket on our side: the exit status says what went wrong.
    socket.on('error', end);
    socket.once('close', end);
  }

  get partialBytes(): number {
    return this.current ? this.filled : 0;
  }

  /** Returns false to stop reading: a whole frame is waiting to be taken. */
  private received(bytes: number, buf: Uint8Array): boolean {
    if (buf.buffer === this.scratch.buffer) {
      this.current = this.cb.allocate();
      this.scratch.copy(this.current, 0, 0, bytes);
      this.filled = bytes;
    } else {
      this.filled += bytes;
    }
    if (this.filled < this.cb.frameBytes) return true;
    this.ready = this.current;
    this.current = null;
    this.cb.changed();
    return false;
  }

  take(): Buffer | null {
    const frame = this.ready;
    if (!frame) return null;
    this.ready = null;
    // Reading stopped when this frame completed; the next one may come now.
    if (this.socket && !this.socket.destroyed) this.socket.resume();
    return frame;
  }

  close(): void {
    this.socket?.destroy();
  }
}

/** The same over a child's stdout stream (chunks copied into frame buffers); Windows, and the fallback. */
export class StreamFrameChannel implements FrameChannel {
  ended = false;
  private current: Buffer | null = null;
  private filled = 0;

  constructor(
    private readonly stream: Readable,
    private readonly cb: ChannelCallbacks,
  ) {
    stream.on('readable', () => cb.changed());
    const end = (): void => {
      this.ended = true;
      cb.changed();
    };
    stream.once('end', end);
    stream.on('error', end);
  }

  get partialBytes(): number {
    return this.current ? this.filled : 0;
  }

  /** Nothing is read until a frame is asked for, so ffmpeg waits on a full pipe (backpressure). */
  take(): Buffer | null {
    for (;;) {
      const chunk = this.stream.read() as Buffer | null;
      if (!chunk) {
        if (this.stream.readableEnded) this.ended = true;
        return null;
      }
      if (!this.current) {
        this.current = this.cb.allocate();
        this.filled = 0;
      }
      const take = Math.min(this.cb.frameBytes - this.filled, chunk.length);
      chunk.copy(this.current, this.filled, 0, take);
      this.filled += take;
      if (take < chunk.length) this.stream.unshift(chunk.subarray(take));
      if (this.filled === this.cb.frameBytes) {
        const frame = this.current;
        this.current = null;
        return frame;
      }
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

export interface SocketPair {
  /** Our end, reading into the channel's buffers. */
  ours: net.Socket;
  /** The end to give the child as its stdout; close it here once the child has it. */
  theirs: net.Socket;
}

/** A connected local socket pair whose reading end uses `onread`; null where it cannot be made. */
export async function localSocketPair(onread: net.OnReadOpts): Promise<SocketPair | null> {
  if (process.platform === 'win32') return null;
  let dir: string | null = null;
  // Paused: nothing of ffmpeg's output is read on the end it keeps.
  const server = net.createServer({ pauseOnConnect: true });
  let ours: net.Socket | null = null;
  try {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sam3-frames-'));
    const file = path.join(dir, 's');
    // Unix socket paths are limited to about 100 bytes.
    if (Buffer.byteLength(file) > 100) return null;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const socket = net.connect({ path: file, onread });
    ours = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const theirs = await accepted;
    // Only the first connection is ours (the folder is private, but be sure).
    server.on('connection', (s: net.Socket) => s.destroy());
    return { ours: socket, theirs };
  } catch {
    ours?.destroy();
    return null;
  } finally {
    server.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }
}

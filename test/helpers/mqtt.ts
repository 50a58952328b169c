/** A real MQTT broker (aedes, in this process) and client for tests, on 127.0.0.1 only. */
import * as net from 'node:net';
import type { MqttClient } from 'mqtt' with { 'resolution-mode': 'import' };

export interface TestBroker {
  url: string;
  close(): Promise<void>;
}

export async function startBroker(): Promise<TestBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}

export async function connect(url: string): Promise<MqttClient> {
  const mqtt = await import('mqtt');
  return mqtt.connectAsync(url, { protocolVersion: 4 });
}

/** Collects JSON messages on `topic` until `done` says enough (or the time runs out). */
export async function collectJson<T>(client: MqttClient, topic: string, done: (got: T[]) => boolean, ms = 60_000): Promise<T[]> {
  const got: T[] = [];
  await client.subscribeAsync(topic, { qos: 1 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} messages on ${topic} within ${ms} ms`)), ms);
    client.on('message', (t, payload) => {
      if (t !== topic) return;
      got.push(JSON.parse(payload.toString()) as T);
      if (done(got)) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

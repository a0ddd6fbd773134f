import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const rabbitmqctl = "/usr/sbin/rabbitmqctl";

/** A throw-away RabbitMQ vhost for one test file, so queues and exchanges never collide. */
export interface BrokerVhost {
  readonly name: string;
  /** amqp://guest:guest@127.0.0.1:5672/<vhost> */
  readonly url: string;
  /** The URL through another port (a TCP proxy in front of the broker). */
  urlVia(port: number): string;
  delete(): void;
}

export function createBrokerVhost(label: string): BrokerVhost {
  const name = `pm-test-${label}-${randomBytes(4).toString("hex")}`;
  execFileSync(rabbitmqctl, ["add_vhost", name], { stdio: "pipe" });
  execFileSync(rabbitmqctl, ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"], {
    stdio: "pipe",
  });
  const urlVia = (port: number) =>
    `amqp://guest:guest@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  return {
    name,
    url: urlVia(5672),
    urlVia,
    delete() {
      execFileSync(rabbitmqctl, ["delete_vhost", name], { stdio: "pipe" });
    },
  };
}

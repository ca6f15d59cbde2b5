/** Whether an address belongs to this machine: the doctor's test message can leave from it, or reach this node at it. */
import { networkInterfaces } from 'node:os';

export function isLocalAddress(ip: string): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === ip));
}

/**
 * Which TCP sockets listen, and which process owns each: read from /proc (Linux), as `ss -ltnp` does,
 * so the lab can show (and a test can prove) that everything it starts listens on loopback only.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Listener {
  pid: number;
  /** The process's command line, arguments joined by spaces. */
  command: string;
  address: string;
  port: number;
}

/** Every listening TCP socket (IPv4 and IPv6) of processes whose command line `owned` accepts. */
export function listeners(owned: (command: string) => boolean): Listener[] {
  const sockets = new Map<string, { address: string; port: number }>();
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this host
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1] ?? '', f[3], f[9] ?? ''];
      if (state !== '0A') continue; // TCP_LISTEN
      const [hex, port] = local.split(':');
      sockets.set(inode, { address: v6 ? ipv6(hex ?? '') : ipv4(hex ?? ''), port: parseInt(port ?? '0', 16) });
    }
  }
  const found: Listener[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let command: string;
    let fds: string[];
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!owned(command)) continue;
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      const socket = inode ? sockets.get(inode) : undefined;
      if (socket) found.push({ pid: Number(entry), command, ...socket });
    }
  }
  return found;
}

/** Whether an address is loopback: 127.0.0.0/8, ::1, or an IPv4-mapped loopback. */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit hex word. */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** /proc/net/tcp6 writes an IPv6 address as four little-endian 32-bit hex words. */
function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  if (bytes.slice(0, 15).every((b) => b === 0)) return bytes[15] === 1 ? '::1' : '::';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

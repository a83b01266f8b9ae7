/**
 * Client addresses and the ranges IP rules name (`server.ipAccessControl`), with ipaddr.js. Pure.
 * An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as some runtimes report IPv4 clients) is read
 * as the IPv4 address it is, so a rule for `10.0.0.0/8` holds for it.
 */
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type IpRange = [IpAddress, number];

function plain(address: IpAddress): IpAddress {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/** An address (`10.0.0.1`, `::1`, `[::1]`), or `undefined` when it is none. */
export function parseIp(value: string): IpAddress | undefined {
  const text = value.trim().replace(/^\[(.*)\]$/, "$1");
  if (!ipaddr.isValid(text)) return undefined;
  return plain(ipaddr.parse(text));
}

/** A CIDR range, or one address as the range of itself; `undefined` when it is neither. */
export function parseIpRange(value: string): IpRange | undefined {
  const text = value.trim();
  if (text.includes("/")) {
    try {
      const [address, bits] = ipaddr.parseCIDR(text);
      const mapped = plain(address);
      // A mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
      return mapped === address ? [address, bits] : [mapped, Math.max(0, bits - 96)];
    } catch {
      return undefined;
    }
  }
  const address = parseIp(text);
  return address && [address, address.kind() === "ipv4" ? 32 : 128];
}

/** Whether `address` lies in one of `ranges` (an IPv4 address never in an IPv6 range, or the reverse). */
export function inRanges(address: IpAddress, ranges: readonly IpRange[]): boolean {
  for (const [range, bits] of ranges) {
    if (range.kind() === address.kind() && address.match(range, bits)) return true;
  }
  return false;
}

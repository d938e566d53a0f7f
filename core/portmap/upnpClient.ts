/**
 * UPnP IGD over the port mapper's I/O: find the gateway's IGD (SSDP on our LAN address only),
 * read its description from the gateway, and map, renew or delete a UDP port by SOAP. Every step is
 * bounded in time and size; an answer from anyone but the gateway is ignored (counted).
 */
import { formatEndpoint } from '../base/endpoint.js';
import { parseIPv4 } from '../base/ip.js';
import { HTTP_TIMEOUT_MS, SSDP_GROUP, SSDP_PORT, SSDP_WAIT_MS } from './constants.js';
import type { PortMapIo } from './portMapIo.js';
import {
  addPortMapping,
  deletePortMapping,
  encodeMSearch,
  findWanService,
  getExternalIPAddress,
  parseSoapResponse,
  parseSsdpResponse,
  type SoapRequest,
  type WanService,
} from './upnp.js';

/** UPnP's error for a router that only keeps permanent mappings (IGD v1, WANIPConnection §2.4.16). */
const ONLY_PERMANENT_LEASES = 725;

export interface UpnpMapping {
  readonly service: WanService;
  readonly external: string;
  readonly externalPort: number;
  /** 0: the router keeps it until deleted (we still renew it at the usual pace). */
  readonly leaseS: number;
}

export class UpnpClient {
  /** SSDP answers from other hosts, or not pointing at the gateway. */
  junk = 0;

  constructor(
    private readonly io: PortMapIo,
    private readonly gateway: string,
    private readonly localAddress: string,
  ) {}

  /** The IGD's port-mapping service; undefined when none answers in time. */
  async discover(): Promise<WanService | undefined> {
    let found: ((url: URL) => void) | undefined;
    const location = new Promise<URL>((resolve) => {
      found = resolve;
    });
    const sock = await this.io.openUdp({ localAddress: this.localAddress, multicastTtl: 2 }, (data, from) => {
      const url = from.address === this.gateway ? parseSsdpResponse(data, this.gateway) : undefined;
      if (url) found?.(url);
      else this.junk++;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const search = encodeMSearch();
      sock.send(search, SSDP_GROUP, SSDP_PORT);
      // UDP may lose the one search: a second after a third of the wait.
      const again = setTimeout(() => sock.send(search, SSDP_GROUP, SSDP_PORT), SSDP_WAIT_MS / 3);
      const url = await Promise.race([
        location,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), SSDP_WAIT_MS);
        }),
      ]);
      clearTimeout(again);
      if (!url) return undefined;
      const desc = await this.io.http(url, { method: 'GET', timeoutMs: HTTP_TIMEOUT_MS });
      if (desc.status !== 200) return undefined;
      return findWanService(desc.body, url, this.gateway);
    } finally {
      clearTimeout(timer);
      sock.close();
    }
  }

  /** Maps UDP `port` to the same external port, for `leaseS` (0 when the router only keeps permanent ones). */
  async map(service: WanService, port: number, leaseS: number): Promise<UpnpMapping | string> {
    const ip = await this.soap(service, getExternalIPAddress(service.serviceType), ['NewExternalIPAddress']);
    if (typeof ip === 'string') return ip;
    const address = ip['NewExternalIPAddress']!;
    if (!parseIPv4(address) || address === '0.0.0.0')
      return `the router has no usable external address (${address})`;
    const add = (lease: number) =>
      this.soap(
        service,
        addPortMapping(service.serviceType, {
          externalPort: port,
          internalPort: port,
          internalClient: this.localAddress,
          leaseS: lease,
        }),
        [],
      );
    let lease = leaseS;
    let added = await add(lease);
    if (added === `error ${ONLY_PERMANENT_LEASES}`) {
      lease = 0;
      added = await add(0);
    }
    if (typeof added === 'string') return added;
    return { service, external: formatEndpoint({ address, port }), externalPort: port, leaseS: lease };
  }

  async unmap(m: UpnpMapping): Promise<void> {
    await this.soap(m.service, deletePortMapping(m.service.serviceType, m.externalPort), []);
  }

  /** One SOAP action: its out-arguments, or why not ("error 718", "timed out"). */
  private async soap(
    service: WanService,
    req: SoapRequest,
    out: readonly string[],
  ): Promise<Record<string, string> | string> {
    try {
      const a = await this.io.http(service.controlUrl, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        timeoutMs: HTTP_TIMEOUT_MS,
      });
      const r = parseSoapResponse(a.status, a.body, out);
      if (r.ok) return r.values;
      return r.errorCode === undefined ? `HTTP ${a.status}` : `error ${r.errorCode}`;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
}

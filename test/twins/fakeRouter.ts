/**
 * A home router's port mapping, played in memory for core/portmap's PortMapIo: it answers PCP
 * MAP, NAT-PMP and UPnP IGD (SSDP, description, SOAP) as the protocols it is told to offer, and
 * records what it was asked. Answers are laid out by hand from the RFCs, not with core/portmap's
 * codecs, so a codec bug cannot agree with itself here.
 */
import type { DefaultRoute } from '../../core/portmap/gateway.js';
import type { HttpAnswer, PortMapIo, PortMapSocket } from '../../core/portmap/portMapIo.js';

export interface FakeRouterOptions {
  gateway?: string;
  external?: string;
  offer?: { pcp?: boolean; natPmp?: boolean; upnp?: boolean };
}

export class FakeRouter implements PortMapIo {
  readonly gateway: string;
  readonly external: string;
  readonly local = '198.18.77.10';
  readonly offer: { pcp: boolean; natPmp: boolean; upnp: boolean };
  route: DefaultRoute | undefined;
  epoch = 1000;
  /** Every datagram sent, and every HTTP request made. */
  readonly sent: { to: string; port: number; data: Uint8Array }[] = [];
  readonly requests: { url: string; action?: string; body?: string }[] = [];
  /** Open sockets, to deliver a stranger's datagram to in a test. */
  readonly sockets: {
    socket: PortMapSocket;
    deliver: (d: Uint8Array, from: { address: string; port: number }) => void;
  }[] = [];

  constructor(o: FakeRouterOptions = {}) {
    this.gateway = o.gateway ?? '198.18.77.1';
    this.external = o.external ?? '203.0.113.5';
    this.offer = { pcp: o.offer?.pcp ?? true, natPmp: o.offer?.natPmp ?? true, upnp: o.offer?.upnp ?? true };
    this.route = { iface: 'eth0', gateway: this.gateway };
  }

  defaultRoute(): DefaultRoute | undefined {
    return this.route;
  }

  async openUdp(
    _options: unknown,
    onMessage: (data: Uint8Array, from: { address: string; port: number }) => void,
  ): Promise<PortMapSocket> {
    let open = true;
    const deliver = (d: Uint8Array, from: { address: string; port: number }) =>
      setImmediate(() => open && onMessage(d, from));
    const socket: PortMapSocket = {
      localAddress: this.local,
      send: (data, to, port) => {
        this.sent.push({ to, port, data: data.slice() });
        const answer = this.answer(data, to, port);
        if (answer) deliver(answer.data, answer.from);
      },
      close: () => {
        open = false;
      },
    };
    this.sockets.push({ socket, deliver });
    return socket;
  }

  async http(
    url: URL,
    req: { method: string; headers?: Record<string, string>; body?: string },
  ): Promise<HttpAnswer> {
    const action = req.headers?.['SOAPAction']?.split('#')[1]?.replace('"', '');
    this.requests.push({ url: url.href, ...(action && { action }), ...(req.body && { body: req.body }) });
    if (!this.offer.upnp || url.hostname !== this.gateway) throw new Error('connection refused');
    if (req.method === 'GET' && url.pathname === '/desc.xml') {
      return {
        status: 200,
        body:
          '<root><device><deviceList><device><serviceList><service>' +
          '<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>' +
          '<controlURL>/ctl/IPConn</controlURL></service></serviceList></device></deviceList></device></root>',
      };
    }
    if (action === 'GetExternalIPAddress') {
      return {
        status: 200,
        body: `<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>${this.external}</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`,
      };
    }
    if (action === 'AddPortMapping' || action === 'DeletePortMapping') return { status: 200, body: '<ok/>' };
    return { status: 404, body: '' };
  }

  /** The router's answer to a datagram, if it gives one. */
  private answer(d: Uint8Array, to: string, port: number) {
    const from = { address: this.gateway, port: 5351 };
    if (to === '239.255.255.250' && port === 1900 && this.offer.upnp) {
      const text = `HTTP/1.1 200 OK\r\nLOCATION: http://${this.gateway}:5000/desc.xml\r\nST: x\r\n\r\n`;
      return { data: new TextEncoder().encode(text), from: { address: this.gateway, port: 1900 } };
    }
    if (to !== this.gateway || port !== 5351) return undefined;
    const ext = this.external.split('.').map(Number);
    if (d[0] === 2 && this.offer.pcp && d.length === 60) {
      // RFC 6887 §7.2 header, then §11.1 MAP: the request's nonce, protocol and ports echoed back.
      const r = new Uint8Array(60);
      const v = new DataView(r.buffer);
      r[0] = 2;
      r[1] = 0x81;
      v.setUint32(4, new DataView(d.buffer, d.byteOffset).getUint32(4));
      v.setUint32(8, this.epoch);
      r.set(d.subarray(24, 44), 24);
      r.set([0xff, 0xff, ...ext], 54);
      return { data: r, from };
    }
    if (d[0] === 0 && this.offer.natPmp) {
      if (d[1] === 0 && d.length === 2) {
        const r = new Uint8Array(12);
        r[1] = 128;
        new DataView(r.buffer).setUint32(4, this.epoch);
        r.set(ext, 8);
        return { data: r, from };
      }
      if (d[1] === 1 && d.length === 12) {
        const r = new Uint8Array(16);
        const v = new DataView(r.buffer);
        r[1] = 129;
        v.setUint32(4, this.epoch);
        r.set(d.subarray(4, 8), 8);
        r.set(d.subarray(8, 12), 12);
        return { data: r, from };
      }
    }
    return undefined;
  }
}

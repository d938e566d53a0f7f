/**
 * UPnP IGD messages (UPnP Device Architecture 1.1; the WANIPConnection service): the SSDP search,
 * its answer, the device description, and the SOAP actions that map a port. Pure text in and out;
 * the I/O is upnpClient.ts's.
 *
 * No XML library: of a description we need only each service's type and control URL (and a base
 * URL), and of a SOAP answer one element or a fault's error code. A bounded extraction of those
 * elements from a capped body is a few lines a reader can check; a general parser would accept far
 * more than we use.
 */
import {
  IGD_SEARCH_TARGET,
  MAX_HTTP_BODY,
  SSDP_GROUP,
  SSDP_PORT,
  UPNP_MAX_LOCATION_LENGTH,
  WAN_SERVICE_TYPES,
} from './constants.js';

/** UDA 1.1 §1.3.2: an M-SEARCH for an Internet Gateway Device, answers within MX seconds. */
export function encodeMSearch(): Uint8Array {
  const text =
    'M-SEARCH * HTTP/1.1\r\n' +
    `HOST: ${SSDP_GROUP}:${SSDP_PORT}\r\n` +
    'MAN: "ssdp:discover"\r\n' +
    'MX: 1\r\n' +
    `ST: ${IGD_SEARCH_TARGET}\r\n` +
    '\r\n';
  return new TextEncoder().encode(text);
}

/**
 * The LOCATION of an SSDP answer (an HTTP 200 over UDP), when it is a plain http:// URL on
 * `gateway`: a description anywhere else is never fetched, so a stranger on the LAN cannot make us
 * connect to a third party. Undefined for anything else.
 */
export function parseSsdpResponse(datagram: Uint8Array, gateway: string): URL | undefined {
  if (datagram.length > 2048) return undefined;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(datagram);
  const lines = text.split('\r\n');
  if (!/^HTTP\/1\.[01] 200 /.test(lines[0] ?? '')) return undefined;
  for (const line of lines.slice(1, 32)) {
    const m = /^location:\s*(\S+)\s*$/i.exec(line);
    if (m) return gatewayUrl(m[1]!, gateway);
  }
  return undefined;
}

/** `text` as an http URL whose host is `gateway` (an IPv4 literal); undefined otherwise. */
export function gatewayUrl(text: string, gateway: string, base?: URL): URL | undefined {
  if (text.length > UPNP_MAX_LOCATION_LENGTH) return undefined;
  let url: URL;
  try {
    url = base ? new URL(text, base) : new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.hostname !== gateway || url.username || url.password) return undefined;
  return url;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]!);
}

/** The text of the first `<name>` element in `xml` (any namespace prefix), unescaped and trimmed. */
function element(xml: string, name: string): string | undefined {
  const m = new RegExp(
    `<(?:[A-Za-z0-9_]+:)?${name}(?:\\s[^>]*)?>([^<]{0,1024})</(?:[A-Za-z0-9_]+:)?${name}>`,
  ).exec(xml);
  return m ? unescapeXml(m[1]!).trim() : undefined;
}

export interface WanService {
  readonly serviceType: string;
  readonly controlUrl: URL;
}

/**
 * The best port-mapping service a device description offers (WANIPConnection before
 * WANPPPConnection), its control URL resolved against URLBase or the description's own URL and
 * required to be on the gateway too.
 */
export function findWanService(xml: string, descriptionUrl: URL, gateway: string): WanService | undefined {
  if (xml.length > MAX_HTTP_BODY) return undefined;
  const baseText = element(xml, 'URLBase');
  const base = (baseText && gatewayUrl(baseText, gateway)) || descriptionUrl;
  const services: WanService[] = [];
  // Each <service>...</service> block, bounded in number: a description has a handful.
  const blocks =
    xml.match(/<(?:[A-Za-z0-9_]+:)?service>[\s\S]{0,4096}?<\/(?:[A-Za-z0-9_]+:)?service>/g) ?? [];
  for (const block of blocks.slice(0, 64)) {
    const serviceType = element(block, 'serviceType');
    const control = element(block, 'controlURL');
    if (!serviceType || !control || !(WAN_SERVICE_TYPES as readonly string[]).includes(serviceType)) continue;
    const controlUrl = gatewayUrl(control, gateway, base);
    if (controlUrl) services.push({ serviceType, controlUrl });
  }
  services.sort(
    (a, b) =>
      (WAN_SERVICE_TYPES as readonly string[]).indexOf(a.serviceType) -
      (WAN_SERVICE_TYPES as readonly string[]).indexOf(b.serviceType),
  );
  return services[0];
}

export interface SoapRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${Object.entries(ENTITIES).find(([, v]) => v === c)![0]};`);
}

/** A SOAP 1.1 action of `serviceType` with its arguments in order (UDA 1.1 §3.2.1). */
export function soapRequest(
  serviceType: string,
  action: string,
  args: [string, string | number][],
): SoapRequest {
  const inner = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${serviceType}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  return {
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${serviceType}#${action}"` },
    body,
  };
}

export function addPortMapping(
  serviceType: string,
  o: { externalPort: number; internalPort: number; internalClient: string; leaseS: number },
): SoapRequest {
  return soapRequest(serviceType, 'AddPortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', o.externalPort],
    ['NewProtocol', 'UDP'],
    ['NewInternalPort', o.internalPort],
    ['NewInternalClient', o.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', 'overlay'],
    ['NewLeaseDuration', o.leaseS],
  ]);
}

export function deletePortMapping(serviceType: string, externalPort: number): SoapRequest {
  return soapRequest(serviceType, 'DeletePortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', externalPort],
    ['NewProtocol', 'UDP'],
  ]);
}

export function getExternalIPAddress(serviceType: string): SoapRequest {
  return soapRequest(serviceType, 'GetExternalIPAddress', []);
}

export type SoapResult =
  | { ok: true; values: Record<string, string> }
  | { ok: false; errorCode: number | undefined };

/**
 * A SOAP answer: 200 with the named out-arguments, or a fault (500) with its UPnP errorCode
 * (e.g. 718 ConflictInMappingEntry, 725 OnlyPermanentLeasesSupported).
 */
export function parseSoapResponse(status: number, xml: string, outArgs: readonly string[]): SoapResult {
  if (xml.length > MAX_HTTP_BODY) return { ok: false, errorCode: undefined };
  if (status !== 200) {
    const code = element(xml, 'errorCode');
    return { ok: false, errorCode: code && /^[0-9]{1,4}$/.test(code) ? Number(code) : undefined };
  }
  const values: Record<string, string> = {};
  for (const name of outArgs) {
    const v = element(xml, name);
    if (v === undefined) return { ok: false, errorCode: undefined };
    values[name] = v;
  }
  return { ok: true, values };
}

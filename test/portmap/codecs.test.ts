/**
 * Port mapping's codecs: NAT-PMP and PCP datagrams laid out as RFC 6886 and RFC 6887 draw them,
 * the epoch rule of RFC 6887 §8.5, UPnP's SSDP/description/SOAP text, and /proc/net/route. Junk is
 * refused (undefined), never a throw, and nothing points us at an address other than the gateway.
 */
import test from 'ava';
import fc from 'fast-check';
import { epochValid } from '../../core/portmap/epoch.js';
import { parseDefaultRoute } from '../../core/portmap/gateway.js';
import {
  decodeNatPmpResponse,
  encodeExternalAddressRequest,
  encodeMapUdpRequest,
} from '../../core/portmap/natPmp.js';
import { answersOurMap, decodePcpResponse, encodePcpMap } from '../../core/portmap/pcp.js';
import {
  addPortMapping,
  encodeMSearch,
  findWanService,
  parseSoapResponse,
  parseSsdpResponse,
} from '../../core/portmap/upnp.js';

const hex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('NAT-PMP requests are laid out as RFC 6886 §3.2 and §3.3 draw them', (t) => {
  t.is(toHex(encodeExternalAddressRequest()), '0000');
  // version 0, op 1, reserved, internal 51820 (0xca6c), suggested 51820, lifetime 7200 (0x1c20)
  t.is(toHex(encodeMapUdpRequest(51820, 51820, 7200)), '00010000ca6cca6c00001c20');
});

test('NAT-PMP responses decode; wrong lengths, versions and opcodes are junk', (t) => {
  t.deepEqual(decodeNatPmpResponse(hex('0080 0000 00000e10 cb007105')), {
    op: 'external-address',
    result: 0,
    epoch: 3600,
    address: '203.0.113.5',
  });
  t.deepEqual(decodeNatPmpResponse(hex('0081 0000 00000e10 ca6c 1f90 00001c20')), {
    op: 'map-udp',
    result: 0,
    epoch: 3600,
    internalPort: 51820,
    externalPort: 8080,
    lifetime: 7200,
  });
  t.is(decodeNatPmpResponse(hex('0081 0000 00000e10 ca6c 1f90 00001c')), undefined, 'short');
  t.is(decodeNatPmpResponse(hex('0180 0000 00000e10 cb007105')), undefined, 'version 1');
  t.is(decodeNatPmpResponse(hex('0001 0000 00000e10 cb007105')), undefined, 'a request, not a response');
  t.is(decodeNatPmpResponse(hex('0080 0000 00000e10 cb007105 00')), undefined, 'trailing byte');
});

test('a PCP MAP request is RFC 6887 §11.1 for UDP, client IP IPv4-mapped', (t) => {
  const nonce = hex('0102030405060708090a0b0c');
  const b = encodePcpMap({
    nonce,
    clientIp: '198.18.77.2',
    internalPort: 51820,
    suggestedPort: 51820,
    lifetime: 7200,
  });
  t.is(b.length, 60);
  t.is(
    toHex(b),
    '02010000' +
      '00001c20' +
      '00000000000000000000ffffc6124d02' + // header
      '0102030405060708090a0b0c' +
      '11000000' +
      'ca6c' +
      'ca6c' +
      '00000000000000000000ffff00000000',
  );
});

test('a PCP MAP response decodes and answers only the request with its nonce', (t) => {
  const nonce = hex('0102030405060708090a0b0c');
  const response = hex(
    '0281 00 00 00001c20 0000002a 000000000000000000000000' +
      '0102030405060708090a0b0c 11 000000 ca6c ca6d 00000000000000000000ffffcb007105',
  );
  const r = decodePcpResponse(response);
  t.like(r, {
    op: 'map',
    result: 0,
    lifetime: 7200,
    epoch: 42,
    externalPort: 51821,
    externalAddress: '203.0.113.5',
  });
  t.true(answersOurMap(r!, nonce, 51820));
  t.false(answersOurMap(r!, hex('ff02030405060708090a0b0c'), 51820), 'another nonce');
  t.false(answersOurMap(r!, nonce, 51821), 'another internal port');
  t.is(decodePcpResponse(response.subarray(0, 58)), undefined, 'not a multiple of 4');
  t.is(decodePcpResponse(response.subarray(0, 40)), undefined, 'MAP data cut short');
  const request = response.slice();
  request[1] = 0x01;
  t.is(decodePcpResponse(request), undefined, 'R bit clear: a request');
  t.like(decodePcpResponse(hex('0280 0000 00000000 00000005 000000000000000000000000')), {
    op: 'announce',
    epoch: 5,
  });
  t.is(decodePcpResponse(new Uint8Array(1104)), undefined, 'over 1100 octets');
});

test('no byte string makes a decoder throw', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        decodeNatPmpResponse(b);
        decodePcpResponse(b);
        parseSsdpResponse(b, '198.18.77.1');
      }),
    ),
  );
});

test('the epoch rule of RFC 6887 §8.5: backwards, or too far from our clock, is a restart', (t) => {
  const prev = { server: 1000, clientMs: 0 };
  t.true(epochValid(undefined, prev), 'a first sample');
  t.true(epochValid(prev, { server: 1060, clientMs: 60_000 }), 'both advanced 60 s');
  t.true(epochValid(prev, { server: 1000, clientMs: 500 }), 'within the 2 s slack');
  t.false(epochValid(prev, { server: 5, clientMs: 60_000 }), 'went backwards: restarted');
  t.false(epochValid(prev, { server: 1010, clientMs: 60_000 }), 'advanced 10 s in our 60: restarted');
  t.false(epochValid(prev, { server: 2000, clientMs: 60_000 }), 'advanced 1000 s in our 60');
});

test('the SSDP search is UDA 1.1 §1.3.2 for an IGD', (t) => {
  const text = new TextDecoder().decode(encodeMSearch());
  t.regex(
    text,
    /^M-SEARCH \* HTTP\/1\.1\r\nHOST: 239\.255\.255\.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n/,
  );
  t.true(text.includes('ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n'));
  t.true(text.endsWith('\r\n\r\n'));
});

test('an SSDP answer is followed only to the gateway, over plain http', (t) => {
  const answer = (location: string) =>
    new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nLOCATION: ${location}\r\nST: x\r\n\r\n`,
    );
  t.is(
    parseSsdpResponse(answer('http://198.18.77.1:2189/rootDesc.xml'), '198.18.77.1')?.href,
    'http://198.18.77.1:2189/rootDesc.xml',
  );
  t.is(parseSsdpResponse(answer('http://203.0.113.9:80/x.xml'), '198.18.77.1'), undefined, 'another host');
  t.is(parseSsdpResponse(answer('https://198.18.77.1/x.xml'), '198.18.77.1'), undefined, 'not http');
  t.is(parseSsdpResponse(answer('http://u:p@198.18.77.1/x.xml'), '198.18.77.1'), undefined, 'credentials');
  t.is(parseSsdpResponse(new TextEncoder().encode('NOTIFY * HTTP/1.1\r\n\r\n'), '198.18.77.1'), undefined);
});

const description = (base: string, control: string) => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">${base}
<device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service>
</serviceList><deviceList><device><deviceList><device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>/ctl/PPP</controlURL></service>
<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>${control}</controlURL></service>
</serviceList></device></deviceList></device></deviceList></device></root>`;

test('the description yields the WANIPConnection control URL, resolved on the gateway', (t) => {
  const at = new URL('http://198.18.77.1:2189/rootDesc.xml');
  const s = findWanService(description('', '/ctl/IPConn'), at, '198.18.77.1');
  t.is(s?.serviceType, 'urn:schemas-upnp-org:service:WANIPConnection:1');
  t.is(s?.controlUrl.href, 'http://198.18.77.1:2189/ctl/IPConn');
  const withBase = findWanService(
    description('<URLBase>http://198.18.77.1:5000/</URLBase>', 'ctl/IP'),
    at,
    '198.18.77.1',
  );
  t.is(withBase?.controlUrl.href, 'http://198.18.77.1:5000/ctl/IP');
  // A control URL elsewhere is skipped: the PPP service on the gateway is what remains.
  const away = findWanService(description('', 'http://203.0.113.9/ctl'), at, '198.18.77.1');
  t.is(away?.controlUrl.href, 'http://198.18.77.1:2189/ctl/PPP');
  t.is(findWanService('<root/>', at, '198.18.77.1'), undefined);
});

test('SOAP: AddPortMapping names every argument; answers and faults parse', (t) => {
  const r = addPortMapping('urn:schemas-upnp-org:service:WANIPConnection:1', {
    externalPort: 51820,
    internalPort: 51820,
    internalClient: '198.18.77.2',
    leaseS: 7200,
  });
  t.is(r.headers['SOAPAction'], '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"');
  t.regex(r.body, /<NewExternalPort>51820<\/NewExternalPort><NewProtocol>UDP<\/NewProtocol>/);
  t.regex(r.body, /<NewInternalClient>198\.18\.77\.2<\/NewInternalClient>/);
  t.deepEqual(
    parseSoapResponse(
      200,
      '<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>203.0.113.5</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>',
      ['NewExternalIPAddress'],
    ),
    { ok: true, values: { NewExternalIPAddress: '203.0.113.5' } },
  );
  t.deepEqual(
    parseSoapResponse(
      500,
      '<s:Fault><detail><UPnPError><errorCode>725</errorCode></UPnPError></detail></s:Fault>',
      [],
    ),
    { ok: false, errorCode: 725 },
  );
  t.deepEqual(parseSoapResponse(200, '<nothing/>', ['NewExternalIPAddress']), {
    ok: false,
    errorCode: undefined,
  });
});

test('/proc/net/route: the default route with the lowest metric, its gateway in host byte order', (t) => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth1\t00000000\t0201A8C6\t0003\t0\t0\t200\t00000000\t0\t0\t0',
    'eth0\t00000000\t014D12C6\t0003\t0\t0\t100\t00000000\t0\t0\t0',
    'eth0\t004D12C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n');
  t.deepEqual(parseDefaultRoute(table), { iface: 'eth0', gateway: '198.18.77.1' });
  t.is(parseDefaultRoute(table.split('\n').slice(0, 1).concat(table.split('\n')[3]!).join('\n')), undefined);
  t.is(parseDefaultRoute('junk'), undefined);
});

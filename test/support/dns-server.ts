// The tests' DNS server is the development one, started in-process on a free port.
export { startDNSServer, type TestDNSServer } from '../../scripts/dev-dns.js';

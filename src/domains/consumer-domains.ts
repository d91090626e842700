/**
 * Mail domains that anyone can get an address at. Owning an address there proves nothing about an
 * organization, so these domains cannot be claimed or mapped.
 */
export const consumerMailDomains: ReadonlySet<string> = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'hotmail.co.uk', 'live.com', 'msn.com',
  'yahoo.com', 'yahoo.co.uk', 'yahoo.co.jp', 'ymail.com', 'rocketmail.com', 'icloud.com', 'me.com',
  'mac.com', 'aol.com', 'proton.me', 'protonmail.com', 'pm.me', 'gmx.com', 'gmx.de', 'gmx.net',
  'web.de', 'mail.com', 'yandex.com', 'yandex.ru', 'mail.ru', 'qq.com', '163.com', '126.com',
  'zoho.com', 'fastmail.com', 'hey.com', 'tutanota.com', 'naver.com', 'seznam.cz', 'libero.it',
  'orange.fr', 'free.fr', 't-online.de', 'comcast.net', 'verizon.net', 'att.net', 'btinternet.com',
]);

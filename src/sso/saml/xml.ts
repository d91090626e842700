import { DOMParser } from '@xmldom/xmldom';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;

/** Raised for XML that is not well-formed or breaks a structural rule; the message is safe to show. */
export class XMLProblem extends Error {
  override name = 'XMLProblem';
}

/**
 * Parses XML strictly: any parser warning or error, a DOCTYPE (entity expansion) or a processing
 * instruction rejects the document, and the document must have exactly one root element.
 */
export function parseStrictXML(xml: string): Document {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new XMLProblem('The XML contains a DOCTYPE, which is not allowed.');
  const problems: string[] = [];
  const document = new DOMParser({
    locator: {},
    errorHandler: {
      warning: (message: string) => problems.push(message),
      error: (message: string) => problems.push(message),
      fatalError: (message: string) => problems.push(message),
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0) throw new XMLProblem('The XML is not well-formed.');

  const roots = childElements(document as unknown as Node);
  if (roots.length !== 1) throw new XMLProblem('The XML must have exactly one root element.');
  for (let node = document.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 7 && node.nodeName !== 'xml') throw new XMLProblem('The XML contains a processing instruction.');
  }
  return document;
}

/** Returns the element children of a node. */
export function childElements(node: Node): Element[] {
  const children: Element[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 1) children.push(child as Element);
  }
  return children;
}

/** Returns the element children with this namespace and local name. */
export function children(node: Node, namespace: string, localName: string): Element[] {
  return childElements(node).filter((child) => child.namespaceURI === namespace && child.localName === localName);
}

/** Returns the only child with this name, undefined when there is none, and throws when there are several. */
export function onlyChild(node: Node, namespace: string, localName: string, what: string): Element | undefined {
  const found = children(node, namespace, localName);
  if (found.length > 1) throw new XMLProblem(`The ${what} appears more than once.`);
  return found[0];
}

/** Returns every descendant element with this namespace and local name, in document order. */
export function descendants(node: Node, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  const walk = (parent: Node) => {
    for (const child of childElements(parent)) {
      if (child.namespaceURI === namespace && child.localName === localName) found.push(child);
      walk(child);
    }
  };
  walk(node);
  return found;
}

/** Returns every element in the document. */
export function allElements(node: Node): Element[] {
  const found: Element[] = [];
  const walk = (parent: Node) => {
    for (const child of childElements(parent)) {
      found.push(child);
      walk(child);
    }
  };
  walk(node);
  return found;
}

/**
 * Returns the text of an element that must hold only text. Comments or child elements inside it are
 * rejected: exclusive canonicalisation drops comments, so `admin@acme.com<!---->.evil.com` verifies
 * against a signature over `admin@acme.com.evil.com` and a parser that stops at the comment would
 * read a different identity.
 */
export function textOnly(element: Element, what: string): string {
  let text = '';
  for (let child = element.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 3 || child.nodeType === 4) text += child.nodeValue ?? '';
    else throw new XMLProblem(`The ${what} contains a comment or markup.`);
  }
  return text.trim();
}

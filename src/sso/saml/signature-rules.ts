import { XMLProblem, NS, childElements, children, descendants } from './xml.js';

const EXCLUSIVE_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SIGNATURE_METHODS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
]);
const DIGEST_METHODS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';

/** Elements that may directly contain a signature: the Response and the Assertion, nothing else. */
const SIGNABLE = new Set([`${NS.protocol} Response`, `${NS.assertion} Assertion`]);

/**
 * Checks the shape of every XML signature in a SAML document before any signature is verified:
 *
 * - a signature sits directly in a Response or an Assertion and signs exactly that element, by one
 *   Reference whose URI is `#` plus the element's ID (XML signature wrapping moves or duplicates
 *   the signed element so that a different one is read);
 * - exactly one SignedInfo, no comments in it, no ds:Object (a place to hide a forged assertion);
 * - exclusive canonicalisation and enveloped-signature transforms only;
 * - SHA-256 or SHA-512, and SHA-1 only when the connection allows it.
 *
 * Also rejects documents in which two elements share an ID. Throws XMLProblem.
 */
export function checkSignatureShapes(root: Element, options: { allowSHA1: boolean }): void {
  const ids = new Set<string>();
  const walk = (element: Element) => {
    for (const name of ['ID', 'Id', 'id']) {
      const value = element.getAttribute(name);
      if (value === null || value === '') continue;
      if (ids.has(value)) throw new XMLProblem('Two elements in the response share the same ID.');
      ids.add(value);
    }
    childElements(element).forEach(walk);
  };
  walk(root);

  for (const signature of [...(root.namespaceURI === NS.dsig && root.localName === 'Signature' ? [root] : []), ...descendants(root, NS.dsig, 'Signature')]) {
    const parent = signature.parentNode as Element | null;
    if (!parent || !SIGNABLE.has(`${parent.namespaceURI} ${parent.localName}`)) {
      throw new XMLProblem('A signature appears somewhere other than directly inside the Response or the Assertion.');
    }
    if (children(signature, NS.dsig, 'Object').length > 0) throw new XMLProblem('A signature contains a ds:Object element.');

    const signedInfos = children(signature, NS.dsig, 'SignedInfo');
    if (signedInfos.length !== 1) throw new XMLProblem('A signature must have exactly one SignedInfo.');
    const signedInfo = signedInfos[0]!;
    if (containsComment(signedInfo)) throw new XMLProblem('A signature’s SignedInfo contains a comment.');

    const canonicalization = children(signedInfo, NS.dsig, 'CanonicalizationMethod');
    if (canonicalization.length !== 1 || canonicalization[0]!.getAttribute('Algorithm') !== EXCLUSIVE_C14N) {
      throw new XMLProblem('A signature must use exclusive XML canonicalisation.');
    }

    const methods = children(signedInfo, NS.dsig, 'SignatureMethod');
    const method = methods.length === 1 ? methods[0]!.getAttribute('Algorithm') ?? '' : '';
    if (!(SIGNATURE_METHODS.has(method) || (options.allowSHA1 && method === SHA1_SIGNATURE))) {
      throw new XMLProblem(method === SHA1_SIGNATURE ? 'The response is signed with SHA-1, which this connection does not allow.' : 'The signature algorithm is not allowed.');
    }

    const references = children(signedInfo, NS.dsig, 'Reference');
    if (references.length !== 1) throw new XMLProblem('A signature must have exactly one Reference.');
    const reference = references[0]!;
    const parentId = parent.getAttribute('ID');
    if (!parentId || reference.getAttribute('URI') !== `#${parentId}`) {
      throw new XMLProblem('A signature does not sign the element that contains it.');
    }

    for (const transforms of children(reference, NS.dsig, 'Transforms')) {
      for (const transform of childElements(transforms)) {
        const algorithm = transform.getAttribute('Algorithm');
        if (algorithm !== ENVELOPED && algorithm !== EXCLUSIVE_C14N) throw new XMLProblem('A signature uses a transform that is not allowed.');
      }
    }

    const digests = children(reference, NS.dsig, 'DigestMethod');
    const digest = digests.length === 1 ? digests[0]!.getAttribute('Algorithm') ?? '' : '';
    if (!(DIGEST_METHODS.has(digest) || (options.allowSHA1 && digest === SHA1_DIGEST))) {
      throw new XMLProblem(digest === SHA1_DIGEST ? 'The response uses SHA-1 digests, which this connection does not allow.' : 'The digest algorithm is not allowed.');
    }
  }
}

/** Returns whether an element has a direct ds:Signature child. */
export function hasOwnSignature(element: Element): boolean {
  return children(element, NS.dsig, 'Signature').length > 0;
}

function containsComment(node: Node): boolean {
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 8) return true;
    if (child.nodeType === 1 && containsComment(child)) return true;
  }
  return false;
}

/**
 * LIST and LSUB (RFC 3501 §6.3.8–9) with the LIST-EXTENDED basics (RFC
 * 5258: selection options SUBSCRIBED, SPECIAL-USE, RECURSIVEMATCH; return
 * options SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS (RFC 5819)). Pure: the
 * folder listing in, the entries out; the session renders them.
 *
 * Hierarchy: "/" separates levels. A folder "a/b" without a folder "a"
 * still shows "a" as a node of the tree, \Noselect (\NonExistent when the
 * client asked LIST-EXTENDED selection options). \HasChildren /
 * \HasNoChildren are always given (CHILDREN, RFC 3348), and so is the
 * special use of the default folders (RFC 6154 §2 allows it in every LIST).
 *
 * Patterns: `*` matches anything, `%` anything but "/". INBOX is
 * case-insensitive (RFC 3501 §5.1), so `inbox` and `In%` match it.
 */
import type { ListSelectOption } from '../../codec/imap/index.js';
import type { FolderListing } from '../mailbox-port.js';

export const DELIMITER = '/';

/** RFC 6154 attributes of the default folders. */
export const SPECIAL_USE: Readonly<Record<string, string>> = { Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk' };

export interface TreeNode {
  name: string;
  /** A real folder (selectable); false for an implied parent of one. */
  exists: boolean;
  subscribed: boolean;
  hasChildren: boolean;
  /** A descendant is subscribed (for RECURSIVEMATCH's CHILDINFO and LSUB's \Noselect parents). */
  subscribedChild: boolean;
}

/** Every folder plus implied parents, INBOX first then by name. */
export function folderTree(folders: readonly FolderListing[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  const node = (name: string): TreeNode => {
    let n = nodes.get(name);
    if (!n) nodes.set(name, (n = { name, exists: false, subscribed: false, hasChildren: false, subscribedChild: false }));
    return n;
  };
  for (const f of folders) {
    const n = node(f.name);
    n.exists = true;
    n.subscribed = f.subscribed;
    const parts = f.name.split(DELIMITER);
    for (let i = 1; i < parts.length; i++) {
      const parent = node(parts.slice(0, i).join(DELIMITER));
      parent.hasChildren = true;
      if (f.subscribed) parent.subscribedChild = true;
    }
  }
  return [...nodes.values()].sort((a, b) => (a.name === 'INBOX' ? -1 : b.name === 'INBOX' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A LIST pattern as a matcher. Reference and pattern are joined first (see canonicalPattern). */
export function patternMatcher(pattern: string): (name: string) => boolean {
  let source = '^';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '%') source += '[^/]*';
    else source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  source += '$';
  const exact = new RegExp(source, 's');
  const folded = new RegExp(source, 'is');
  return (name) => exact.test(name) || (name === 'INBOX' && folded.test(name));
}

/**
 * RFC 3501 §6.3.8: the reference is prepended to the pattern, unless the
 * pattern starts with the delimiter (an absolute name, in which case the
 * reference is ignored).
 */
export function canonicalPattern(reference: string, pattern: string): string {
  if (reference.length === 0 || pattern.startsWith(DELIMITER)) return pattern;
  return reference + pattern;
}

export interface ListOptions {
  selectOptions: readonly ListSelectOption[];
  /** RETURN (SUBSCRIBED), or the SUBSCRIBED selection option. */
  returnSubscribed: boolean;
}

export interface ListEntry {
  name: string;
  attributes: string[];
  /** LIST-EXTENDED CHILDINFO extension data, e.g. ("CHILDINFO" ("SUBSCRIBED")). */
  extra: string;
  /** Selectable: STATUS may be returned for it. */
  exists: boolean;
}

/** LIST: the nodes matching any pattern, with their attributes. */
export function listEntries(tree: readonly TreeNode[], patterns: readonly string[], options: ListOptions): ListEntry[] {
  const matchers = patterns.map(patternMatcher);
  const subscribedOnly = options.selectOptions.includes('SUBSCRIBED');
  const recursive = options.selectOptions.includes('RECURSIVEMATCH');
  const specialOnly = options.selectOptions.includes('SPECIAL-USE');
  const extended = options.selectOptions.length > 0;
  const out: ListEntry[] = [];
  for (const n of tree) {
    if (!matchers.some((m) => m(n.name))) continue;
    const special = n.exists ? SPECIAL_USE[n.name] : undefined;
    if (specialOnly && special === undefined) continue;
    let extra = '';
    if (subscribedOnly && !n.subscribed) {
      // RFC 5258 §3.5: with RECURSIVEMATCH a parent of a subscribed folder is listed, saying why.
      if (!(recursive && n.subscribedChild)) continue;
      extra = ' ("CHILDINFO" ("SUBSCRIBED"))';
    }
    const attributes: string[] = [];
    if (!n.exists) attributes.push(extended ? '\\NonExistent' : '\\Noselect');
    attributes.push(n.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (special !== undefined) attributes.push(special);
    if ((subscribedOnly || options.returnSubscribed) && n.subscribed) attributes.push('\\Subscribed');
    out.push({ name: n.name, attributes, extra, exists: n.exists });
  }
  return out;
}

/**
 * LSUB: subscribed folders matching the pattern; a non-subscribed node with
 * a subscribed descendant is listed \Noselect when the pattern's `%` stops
 * at it (RFC 3501 §6.3.9), so a client walking levels finds the way down.
 */
export function lsubEntries(tree: readonly TreeNode[], pattern: string): ListEntry[] {
  const match = patternMatcher(pattern);
  const out: ListEntry[] = [];
  for (const n of tree) {
    if (!match(n.name)) continue;
    if (n.subscribed) out.push({ name: n.name, attributes: n.exists ? [] : ['\\Noselect'], extra: '', exists: n.exists });
    else if (n.subscribedChild && pattern.includes('%')) out.push({ name: n.name, attributes: ['\\Noselect'], extra: '', exists: n.exists });
  }
  return out;
}

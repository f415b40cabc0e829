// The syntax tree the markdown parser builds: one small doubly linked node type for blocks
// and inlines alike (the inline parser moves nodes around while it resolves emphasis).

export class Node {
  constructor(type) {
    this.type = type;
    this.parent = null;
    this.firstChild = null;
    this.lastChild = null;
    this.prev = null;
    this.next = null;
    this.open = true;
    this.literal = ''; // text, code, or a block's raw content while it is open
    this.startLine = 0;
    this.endLine = 0;
  }

  appendChild(child) {
    child.unlink();
    child.parent = this;
    if (this.lastChild) {
      this.lastChild.next = child;
      child.prev = this.lastChild;
      this.lastChild = child;
    } else {
      this.firstChild = child;
      this.lastChild = child;
    }
  }

  insertAfter(sibling) {
    sibling.unlink();
    sibling.next = this.next;
    if (sibling.next) sibling.next.prev = sibling;
    sibling.prev = this;
    this.next = sibling;
    sibling.parent = this.parent;
    if (!sibling.next && sibling.parent) sibling.parent.lastChild = sibling;
  }

  unlink() {
    if (this.prev) this.prev.next = this.next;
    else if (this.parent) this.parent.firstChild = this.next;
    if (this.next) this.next.prev = this.prev;
    else if (this.parent) this.parent.lastChild = this.prev;
    this.parent = null;
    this.next = null;
    this.prev = null;
  }

  *children() {
    for (let child = this.firstChild; child; child = child.next) yield child;
  }
}

export function textNode(text) {
  const node = new Node('text');
  node.literal = text;
  return node;
}

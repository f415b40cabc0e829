// Block structure of markdown, following the CommonMark algorithm (spec 0.31, "Appendix:
// A parsing strategy"): each line first continues the open containers it can, then may
// start new blocks, and what is left is text for the innermost open block. GFM tables are
// added as a leaf block that a paragraph's last line and a delimiter row start. Raw HTML
// blocks are not recognised on purpose: such lines stay paragraph text and are shown as text.

import { Node } from './node.js';
import { parseReference } from './links.js';
import { unescapeString } from './entities.js';
import { parseDelimiterRow, splitRow } from './tables.js';

const CODE_INDENT = 4;
const reATXHeading = /^#{1,6}(?:[ \t]+|$)/;
const reCodeFence = /^`{3,}(?!.*`)|^~{3,}/;
const reClosingCodeFence = /^(?:`{3,}|~{3,})(?=[ \t]*$)/;
const reSetextHeadingLine = /^(?:=+|-+)[ \t]*$/;
const reThematicBreak = /^(?:\*[ \t]*){3,}$|^(?:_[ \t]*){3,}$|^(?:-[ \t]*){3,}$/;
const reBulletMarker = /^[*+-]/;
const reOrderedMarker = /^(\d{1,9})([.)])/;
const reNonSpace = /[^ \t\f\v\r\n]/;
const reMaybeSpecial = /^[#`~*+_=<>0-9|:-]/;

const isSpaceOrTab = (c) => c === ' ' || c === '\t';

// Per block type: does a line continue it (0 yes, 1 no, 2 yes and the line is used up),
// what happens when it closes, which children it may hold, does it take text lines.
const BLOCKS = {
  document: { cont: () => 0, finalize() {}, canContain: (t) => t !== 'item', acceptsLines: false },
  list: {
    cont: () => 0,
    finalize(parser, block) {
      block.endLine = block.lastChild ? block.lastChild.endLine : block.startLine;
      for (let item = block.firstChild; item; item = item.next) {
        if (endsWithBlankLine(item) && item.next) {
          block.listData.tight = false;
          return;
        }
        for (let sub = item.firstChild; sub; sub = sub.next) {
          if (endsWithBlankLine(sub) && (item.next || sub.next)) {
            block.listData.tight = false;
            return;
          }
        }
      }
    },
    canContain: (t) => t === 'item',
    acceptsLines: false,
  },
  block_quote: {
    cont(parser) {
      const ln = parser.line;
      if (parser.indented || ln[parser.nextNonspace] !== '>') return 1;
      parser.advanceNextNonspace();
      parser.advanceOffset(1, false);
      if (isSpaceOrTab(ln[parser.offset])) parser.advanceOffset(1, true);
      return 0;
    },
    finalize() {},
    canContain: (t) => t !== 'item',
    acceptsLines: false,
  },
  item: {
    cont(parser, block) {
      if (parser.blank) {
        if (block.firstChild === null) return 1; // a blank line after an empty item ends it
        parser.advanceNextNonspace();
      } else if (parser.indent >= block.listData.markerOffset + block.listData.padding) {
        parser.advanceOffset(block.listData.markerOffset + block.listData.padding, true);
      } else {
        return 1;
      }
      return 0;
    },
    finalize(parser, block) {
      block.endLine = block.lastChild ? block.lastChild.endLine : block.startLine;
    },
    canContain: (t) => t !== 'item',
    acceptsLines: false,
  },
  heading: { cont: () => 1, finalize() {}, canContain: () => false, acceptsLines: false },
  thematic_break: { cont: () => 1, finalize() {}, canContain: () => false, acceptsLines: false },
  code_block: {
    cont(parser, block) {
      const ln = parser.line;
      if (block.fenced) {
        const match = parser.indent <= 3 && ln[parser.nextNonspace] === block.fenceChar
          && reClosingCodeFence.exec(ln.slice(parser.nextNonspace));
        if (match && match[0].length >= block.fenceLength) {
          block.closed = true;
          parser.finalize(block, parser.lineNumber);
          return 2;
        }
        for (let i = block.fenceOffset; i > 0 && isSpaceOrTab(ln[parser.offset]); i -= 1) {
          parser.advanceOffset(1, true);
        }
        return 0;
      }
      if (parser.indent >= CODE_INDENT) parser.advanceOffset(CODE_INDENT, true);
      else if (parser.blank) parser.advanceNextNonspace();
      else return 1;
      return 0;
    },
    finalize(parser, block) {
      const content = block.literal;
      if (block.fenced) {
        const newline = content.indexOf('\n');
        block.info = unescapeString(content.slice(0, newline).trim());
        block.literal = content.slice(newline + 1);
      } else {
        const lines = content.split('\n');
        while (lines.length && /^[ \t]*$/.test(lines[lines.length - 1])) lines.pop();
        block.literal = `${lines.join('\n')}\n`;
        block.endLine = block.startLine + lines.length - 1;
      }
    },
    canContain: () => false,
    acceptsLines: true,
  },
  paragraph: {
    cont: (parser) => (parser.blank ? 1 : 0),
    finalize(parser, block) {
      let used = false;
      let pos;
      while (block.literal[0] === '[' && (pos = parseReference(block.literal, parser.refmap))) {
        block.literal = block.literal.slice(pos);
        used = true;
      }
      if (used && !reNonSpace.test(block.literal)) block.unlink();
    },
    canContain: () => false,
    acceptsLines: true,
  },
  table: {
    cont: (parser) => (parser.blank ? 1 : 0),
    finalize(parser, block) {
      block.rows = block.literal.split('\n').filter((row) => row.trim() !== '').map(splitRow);
    },
    canContain: () => false,
    acceptsLines: true,
  },
};

function endsWithBlankLine(block) {
  return block.next !== null && block.endLine !== block.next.startLine - 1;
}

function parseListMarker(parser, container) {
  if (parser.indent >= 4) return null;
  const rest = parser.line.slice(parser.nextNonspace);
  const data = { type: null, tight: true, bulletChar: null, start: null, delimiter: null, padding: 0, markerOffset: parser.indent };
  let match = reBulletMarker.exec(rest);
  if (match) {
    data.type = 'bullet';
    data.bulletChar = match[0][0];
  } else if ((match = reOrderedMarker.exec(rest)) && (container.type !== 'paragraph' || match[1] === '1')) {
    data.type = 'ordered';
    data.start = parseInt(match[1], 10);
    data.delimiter = match[2];
  } else {
    return null;
  }
  const after = parser.line[parser.nextNonspace + match[0].length];
  if (!(after === undefined || after === '\t' || after === ' ')) return null;
  if (container.type === 'paragraph' && !reNonSpace.test(parser.line.slice(parser.nextNonspace + match[0].length))) return null;
  parser.advanceNextNonspace();
  parser.advanceOffset(match[0].length, true);
  const spacesStartCol = parser.column;
  const spacesStartOffset = parser.offset;
  do {
    parser.advanceOffset(1, true);
  } while (parser.column - spacesStartCol < 5 && isSpaceOrTab(parser.line[parser.offset]));
  const blankItem = parser.line[parser.offset] === undefined;
  const spaces = parser.column - spacesStartCol;
  if (spaces >= 5 || spaces < 1 || blankItem) {
    data.padding = match[0].length + 1;
    parser.column = spacesStartCol;
    parser.offset = spacesStartOffset;
    if (isSpaceOrTab(parser.line[parser.offset])) parser.advanceOffset(1, true);
  } else {
    data.padding = match[0].length + spaces;
  }
  return data;
}

const listsMatch = (a, b) => a.type === b.type && a.delimiter === b.delimiter && a.bulletChar === b.bulletChar;

// Block starts, in the spec's order of precedence. 0: none; 1: a container started; 2: a leaf.
const STARTS = [
  function blockQuote(parser) {
    if (parser.indented || parser.line[parser.nextNonspace] !== '>') return 0;
    parser.advanceNextNonspace();
    parser.advanceOffset(1, false);
    if (isSpaceOrTab(parser.line[parser.offset])) parser.advanceOffset(1, true);
    parser.closeUnmatchedBlocks();
    parser.addChild('block_quote');
    return 1;
  },
  function atxHeading(parser) {
    const match = !parser.indented && reATXHeading.exec(parser.line.slice(parser.nextNonspace));
    if (!match) return 0;
    parser.advanceNextNonspace();
    parser.advanceOffset(match[0].length, false);
    parser.closeUnmatchedBlocks();
    const heading = parser.addChild('heading');
    heading.level = match[0].trim().length;
    heading.literal = parser.line.slice(parser.offset).replace(/^[ \t]*#+[ \t]*$/, '').replace(/[ \t]+#+[ \t]*$/, '');
    parser.advanceOffset(parser.line.length - parser.offset, false);
    return 2;
  },
  function fencedCode(parser) {
    const match = !parser.indented && reCodeFence.exec(parser.line.slice(parser.nextNonspace));
    if (!match) return 0;
    parser.closeUnmatchedBlocks();
    const block = parser.addChild('code_block');
    Object.assign(block, { fenced: true, closed: false, fenceLength: match[0].length, fenceChar: match[0][0], fenceOffset: parser.indent });
    parser.advanceNextNonspace();
    parser.advanceOffset(match[0].length, false);
    return 2;
  },
  function setextHeading(parser, container) {
    const match = !parser.indented && container.type === 'paragraph' && reSetextHeadingLine.exec(parser.line.slice(parser.nextNonspace));
    if (!match) return 0;
    parser.closeUnmatchedBlocks();
    let pos;
    while (container.literal[0] === '[' && (pos = parseReference(container.literal, parser.refmap))) {
      container.literal = container.literal.slice(pos);
    }
    if (container.literal.length === 0) return 0;
    const heading = new Node('heading');
    heading.level = match[0][0] === '=' ? 1 : 2;
    heading.literal = container.literal;
    heading.startLine = container.startLine;
    container.insertAfter(heading);
    container.unlink();
    parser.tip = heading;
    parser.advanceOffset(parser.line.length - parser.offset, false);
    return 2;
  },
  function table(parser, container) {
    if (parser.indented || container.type !== 'paragraph') return 0;
    const align = parseDelimiterRow(parser.line.slice(parser.nextNonspace));
    if (!align) return 0;
    const lines = container.literal.replace(/\n$/, '').split('\n');
    const header = splitRow(lines[lines.length - 1]);
    if (header.length !== align.length) return 0;
    parser.closeUnmatchedBlocks();
    const block = new Node('table');
    Object.assign(block, { align, header, startLine: parser.lineNumber - 1 });
    if (lines.length > 1) {
      container.literal = `${lines.slice(0, -1).join('\n')}\n`;
      container.insertAfter(block);
      parser.finalize(container, parser.lineNumber - 2);
    } else {
      container.insertAfter(block);
      container.unlink();
    }
    parser.tip = block;
    parser.advanceOffset(parser.line.length - parser.offset, false);
    return 2;
  },
  function thematicBreak(parser) {
    if (parser.indented || !reThematicBreak.test(parser.line.slice(parser.nextNonspace))) return 0;
    parser.closeUnmatchedBlocks();
    parser.addChild('thematic_break');
    parser.advanceOffset(parser.line.length - parser.offset, false);
    return 2;
  },
  function listItem(parser, container) {
    if (parser.indented && container.type !== 'list') return 0;
    const data = parseListMarker(parser, container);
    if (!data) return 0;
    parser.closeUnmatchedBlocks();
    if (parser.tip.type !== 'list' || !listsMatch(container.listData, data)) {
      parser.addChild('list').listData = data;
    }
    parser.addChild('item').listData = data;
    return 1;
  },
  function indentedCode(parser) {
    if (!parser.indented || parser.tip.type === 'paragraph' || parser.blank) return 0;
    parser.advanceOffset(CODE_INDENT, true);
    parser.closeUnmatchedBlocks();
    parser.addChild('code_block').fenced = false;
    return 2;
  },
];

class BlockParser {
  constructor(refmap) {
    this.doc = new Node('document');
    this.doc.startLine = 1;
    this.tip = this.doc;
    this.oldtip = this.doc;
    this.refmap = refmap;
    this.lineNumber = 0;
    this.line = '';
  }

  findNextNonspace() {
    let i = this.offset;
    let cols = this.column;
    let c;
    while ((c = this.line[i]) !== undefined) {
      if (c === ' ') {
        i += 1;
        cols += 1;
      } else if (c === '\t') {
        i += 1;
        cols += 4 - (cols % 4);
      } else {
        break;
      }
    }
    this.blank = c === undefined || c === '\n' || c === '\r';
    this.nextNonspace = i;
    this.nextNonspaceColumn = cols;
    this.indent = cols - this.column;
    this.indented = this.indent >= CODE_INDENT;
  }

  advanceNextNonspace() {
    this.offset = this.nextNonspace;
    this.column = this.nextNonspaceColumn;
    this.partiallyConsumedTab = false;
  }

  advanceOffset(count, columns) {
    let c;
    let left = count;
    while (left > 0 && (c = this.line[this.offset]) !== undefined) {
      if (c === '\t') {
        const toTab = 4 - (this.column % 4);
        if (columns) {
          this.partiallyConsumedTab = toTab > left;
          const step = toTab > left ? left : toTab;
          this.column += step;
          this.offset += this.partiallyConsumedTab ? 0 : 1;
          left -= step;
        } else {
          this.partiallyConsumedTab = false;
          this.column += toTab;
          this.offset += 1;
          left -= 1;
        }
      } else {
        this.partiallyConsumedTab = false;
        this.offset += 1;
        this.column += 1;
        left -= 1;
      }
    }
  }

  addLine() {
    if (this.partiallyConsumedTab) {
      this.offset += 1;
      this.tip.literal += ' '.repeat(4 - (this.column % 4));
    }
    this.tip.literal += `${this.line.slice(this.offset)}\n`;
  }

  addChild(type) {
    while (!BLOCKS[this.tip.type].canContain(type)) this.finalize(this.tip, this.lineNumber - 1);
    const block = new Node(type);
    block.startLine = this.lineNumber;
    this.tip.appendChild(block);
    this.tip = block;
    return block;
  }

  closeUnmatchedBlocks() {
    if (this.allClosed) return;
    while (this.oldtip !== this.lastMatchedContainer) {
      const parent = this.oldtip.parent;
      this.finalize(this.oldtip, this.lineNumber - 1);
      this.oldtip = parent;
    }
    this.allClosed = true;
  }

  finalize(block, lineNumber) {
    const above = block.parent;
    block.open = false;
    block.endLine = lineNumber;
    BLOCKS[block.type].finalize(this, block);
    this.tip = above;
  }

  incorporateLine(raw) {
    let container = this.doc;
    this.oldtip = this.tip;
    this.offset = 0;
    this.column = 0;
    this.blank = false;
    this.partiallyConsumedTab = false;
    this.lineNumber += 1;
    this.line = raw.includes('\0') ? raw.replace(/\0/g, '\uFFFD') : raw;

    let allMatched = true;
    let last;
    while ((last = container.lastChild) && last.open) {
      container = last;
      this.findNextNonspace();
      const result = BLOCKS[container.type].cont(this, container);
      if (result === 2) return;
      if (result === 1) {
        allMatched = false;
        container = container.parent;
        break;
      }
    }
    void allMatched;
    this.allClosed = container === this.oldtip;
    this.lastMatchedContainer = container;

    let matchedLeaf = container.type !== 'paragraph' && container.type !== 'table' && BLOCKS[container.type].acceptsLines;
    while (!matchedLeaf) {
      this.findNextNonspace();
      if (!this.indented && !reMaybeSpecial.test(this.line.slice(this.nextNonspace))) {
        this.advanceNextNonspace();
        break;
      }
      let started = 0;
      for (const start of STARTS) {
        started = start(this, container);
        if (started) break;
      }
      if (!started) {
        this.advanceNextNonspace();
        break;
      }
      container = this.tip;
      if (started === 2) matchedLeaf = true;
    }

    if (!this.allClosed && !this.blank && this.tip.type === 'paragraph') {
      this.addLine(); // a lazy continuation line
    } else {
      this.closeUnmatchedBlocks();
      if (BLOCKS[container.type].acceptsLines) {
        this.addLine();
      } else if (this.offset < this.line.length && !this.blank) {
        this.addChild('paragraph');
        this.advanceNextNonspace();
        this.addLine();
      }
    }
  }
}

/**
 * The block tree of `input`. `refmap` collects link reference definitions (normalised
 * label → { destination, title }); pass one in to share definitions between parses.
 */
export function parseBlocks(input, refmap = {}) {
  const parser = new BlockParser(refmap);
  const lines = input.split(/\r\n|\n|\r/);
  let count = lines.length;
  if (input.endsWith('\n') || input.endsWith('\r')) count -= 1;
  for (let i = 0; i < count; i += 1) parser.incorporateLine(lines[i]);
  while (parser.tip) parser.finalize(parser.tip, count);
  return parser.doc;
}

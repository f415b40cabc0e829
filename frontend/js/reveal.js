// Smooth streaming: the server sends text in coalesced frames (a few a second); the page
// reveals what has arrived a little per animation frame, so that it reads as a steady
// stream rather than jumps. Only what is shown is paced: the text kept (and later replaced
// by the stored message) is exactly what arrived.

// Frames to catch up over: about the server's coalescing interval (250 ms) at 60 frames/s.
const CATCH_UP_FRAMES = 15;

export class Reveal {
  constructor(onPaint) {
    this.onPaint = onPaint;
    this.active = new Set(); // bubbles with text not shown yet
    this.scheduled = false;
  }

  /** More text arrived for a streaming bubble. */
  push(li, text) {
    li.streamText = (li.streamText || '') + text;
    li.shownLength = li.shownLength || 0;
    li.step = Math.max(1, Math.ceil((li.streamText.length - li.shownLength) / CATCH_UP_FRAMES));
    this.active.add(li);
    this.schedule();
  }

  schedule() {
    if (this.scheduled || !this.active.size) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.paint();
    });
  }

  /** One animation frame: each bubble shows `step` more characters (its last block re-parsed). */
  paint() {
    for (const li of this.active) {
      let next = Math.min(li.streamText.length, li.shownLength + li.step);
      const code = li.streamText.charCodeAt(next - 1);
      if (code >= 0xd800 && code <= 0xdbff) next += 1; // never split a surrogate pair
      this.show(li, next);
      if (li.shownLength >= li.streamText.length) this.active.delete(li);
    }
    this.onPaint();
    this.schedule();
  }

  show(li, length) {
    li.shownLength = length;
    const text = li.streamText.slice(0, length);
    if (li.markdown) li.markdown.update(text);
    else if (li.textNode) li.textNode.data = text;
    li.dataset.shown = String(length);
  }

  /** The reply ended: show everything that arrived at once. */
  finish(li) {
    if (typeof li.streamText === 'string') this.show(li, li.streamText.length);
    this.active.delete(li);
  }

  forget(li) {
    this.active.delete(li);
  }

  clear() {
    this.active.clear();
  }
}

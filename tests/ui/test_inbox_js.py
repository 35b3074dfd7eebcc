"""The inbox's page script (ui/static/ui/js/inbox.js), run with Node on the file itself against a
small stand-in for the page: the tab title and the menu count follow the inbox; a new item that
arrives (htmx swaps the fragment) sounds a tone only once the officer turned the sound on, and the
choice is remembered; a meeting counts down to its start in the page's words. Skipped where there
is no `node`."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

INBOX = Path(__file__).resolve().parents[2] / "ui" / "static" / "ui" / "js" / "inbox.js"

SCRIPT = """
const stored = %(stored)s;
const permission = %(permission)s;
let tones = 0;
const notes = [];
class Element {
  constructor(id, dataset = {}) { this.id = id; this.dataset = dataset; this.hidden = true; this.textContent = '';
    this.attributes = {}; this.listeners = {}; this.children = []; this.classes = new Set(); }
  setAttribute(name, value) { this.attributes[name] = value; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  get classList() { return {add: (c) => this.classes.add(c), toggle: () => {}}; }
  querySelector(selector) { return {textContent: `${selector} of ${this.id}`}; }
  focus() { document.activeElement = this; }
  setSelectionRange(start, end) { this.selectionStart = start; this.selectionEnd = end; }
  querySelectorAll(selector) {
    if (selector === 'textarea') return this.children.filter((child) => child.tagName === 'TEXTAREA');
    const attribute = selector.slice(1, -1).replace(/^data-/, '').replace(/-(\\w)/g, (_, c) => c.toUpperCase());
    return this.children.filter((child) => child.dataset[attribute] !== undefined);
  }
}
function inbox(keys, extra = []) {
  const element = new Element('owed', {inboxCount: String(keys.length), wordStarts: 'Starts in %%(time)s',
                                       wordStarted: 'Started %%(time)s ago'});
  element.children = keys.map((key) => new Element(key, {inboxKey: key})).concat(extra);
  element.parentElement = holder;
  return element;
}
const holder = new Element('inbox');
const toggle = new Element('inbox-sound', {on: 'Sound on', off: 'Sound off'});
const notifyToggle = new Element('inbox-notify', {on: 'Notify on', off: 'Notify off', blocked: 'Blocked'});
const badge = new Element('nav-inbox-count');
const meeting = new Element('meeting', {starts: new Date(Date.now() + 90_000).toISOString()});
let current = inbox(['ack-1', 'task-1'], [meeting]);
const byId = {owed: () => current, 'inbox-sound': () => toggle, 'nav-inbox-count': () => badge,
              'inbox-notify': () => notifyToggle};
const docListeners = {};
function textarea(id, value) {
  const field = new Element(id);
  Object.assign(field, {tagName: 'TEXTAREA', value, selectionStart: 0, selectionEnd: 0});
  return field;
}
let observed = null;
const storage = new Map(stored ? [['liandong.inbox.sound', stored]] : []);
globalThis.window = {
  localStorage: {getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v)},
  AudioContext: class {
    constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; }
    createOscillator() { tones += 1; return {frequency: {}, connect: (g) => g, start() {}, stop() {}}; }
    createGain() { return {gain: {setValueAtTime() {}, exponentialRampToValueAtTime() {}}, connect: (d) => d}; }
  },
};
if (permission) {
  window.Notification = class {
    constructor(title, options) { notes.push([title, options.body, options.tag]); }
    static async requestPermission() { return window.Notification.permission; }
  };
  window.Notification.permission = permission;
}
globalThis.document = {
  title: 'Dashboard', body: {dataset: {lang: 'en-GB'}}, documentElement: {lang: 'en'}, hidden: true,
  getElementById: (id) => (byId[id] ? byId[id]() : current.children.find((child) => child.id === id) || null),
  addEventListener: (name, fn) => { docListeners[name] = fn; }, activeElement: null,
};
globalThis.MutationObserver = class { constructor(fn) { observed = fn; } observe() {} };
globalThis.setInterval = () => 0;
await import(%(url)s);
const out = {title: document.title, badge: badge.textContent, toggle: toggle.textContent,
             pressed: toggle.attributes['aria-pressed'], meeting: meeting.textContent, hidden: toggle.hidden};
// A stream event: the inbox comes back with a new item.
current = inbox(['ack-1', 'task-1', 'offer-7']);
observed();
out.afterNew = {title: document.title, tones, fresh: [...current.children[2].classes]};
// The officer turns the sound on (a tone says what it sounds like), then another item arrives.
toggle.listeners.click();
const afterClick = tones;
current = inbox(['ack-1', 'task-1', 'offer-7', 'meeting-2']);
observed();
out.afterOn = {clickTone: afterClick - out.afterNew.tones, newTone: tones - afterClick,
               stored: storage.get('liandong.inbox.sound'), toggle: toggle.textContent};
// Nothing new (an item answered): no tone.
const before = tones;
current = inbox(['task-1', 'offer-7', 'meeting-2']);
observed();
out.afterAnswer = {tones: tones - before, title: document.title};
// Browser notifications: the officer turns them on; the next new item is notified.
out.notifyButton = {hidden: notifyToggle.hidden, text: notifyToggle.textContent};
out.notesBefore = notes.length;
if (notifyToggle.listeners.click) await notifyToggle.listeners.click();
out.notifyButton.afterClick = notifyToggle.textContent;
current = inbox(['task-1', 'offer-7', 'meeting-2', 'request-3']);
observed();
out.notes = [...notes];
// A comment half written when a stream event redraws the inbox: kept, with the caret.
const typing = textarea('comment-1', 'received; level IV');
current = inbox(['ack-1'], [typing]);
observed();
typing.focus();
typing.setSelectionRange(9, 9);
docListeners['htmx:beforeSwap']({detail: {target: current}});
const redrawn = textarea('comment-1', '');
current = inbox(['ack-1', 'task-9'], [redrawn]);
observed();
out.draft = {value: redrawn.value, focused: document.activeElement === redrawn, caret: redrawn.selectionStart};
console.log(JSON.stringify(out));
"""


def run(stored: str | None, permission: str | None = None) -> dict:
    code = SCRIPT % {"url": json.dumps(INBOX.as_uri()), "stored": json.dumps(stored),
                     "permission": json.dumps(permission)}
    result = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True, text=True,
                            check=True, timeout=60)
    return json.loads(result.stdout)


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page script")


def test_the_count_reaches_the_title_and_the_menu_and_a_meeting_counts_down():
    said = run(None)
    assert said["title"] == "(2) Dashboard" and said["badge"] == "2"
    assert said["meeting"] in ("Starts in 1:30", "Starts in 1:29")
    assert said["hidden"] is False and said["toggle"] == "Sound off" and said["pressed"] == "false"


def test_a_new_item_is_marked_but_silent_until_the_sound_is_turned_on_and_remembered():
    said = run(None)
    assert said["afterNew"] == {"title": "(3) Dashboard", "tones": 0, "fresh": ["fresh"]}
    # Two notes per tone: one on turning it on, one for the new item.
    assert said["afterOn"] == {"clickTone": 2, "newTone": 2, "stored": "on", "toggle": "Sound on"}
    assert said["afterAnswer"] == {"tones": 0, "title": "(3) Dashboard"}


def test_a_remembered_choice_holds_after_a_reload():
    said = run("on")
    assert said["toggle"] == "Sound on" and said["pressed"] == "true"
    assert said["afterNew"]["tones"] == 2


def test_browser_notifications_once_turned_on_and_allowed_while_the_tab_is_in_the_background():
    said = run(None, permission="granted")
    assert said["notifyButton"] == {"hidden": False, "text": "Notify off", "afterClick": "Notify on"}
    assert said["notesBefore"] == 0  # off by default: the new items before the click made none
    assert said["notes"] == [[".inbox-kind of request-3", ".inbox-asked of request-3", "request-3"]]


def test_no_notification_where_the_browser_blocks_them_or_has_none():
    blocked = run(None, permission="denied")
    assert blocked["notifyButton"]["text"] == "Blocked" and blocked["notes"] == []
    assert run(None)["notifyButton"] == {"hidden": True, "text": "", "afterClick": ""}


def test_a_comment_being_written_survives_a_refresh_of_the_inbox():
    assert run(None)["draft"] == {"value": "received; level IV", "focused": True, "caret": 9}

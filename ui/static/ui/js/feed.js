// Lines of the live feed, written from a stream event with the words the server gave the page
// (ui/feed.py reads an event's data the same way for the lines it draws itself).

import { formatTime } from './common.js';

const words = JSON.parse(document.getElementById('ld-feed-words')?.textContent || '{}');

function link(event, data) {
  const urls = words.urls || {};
  if (event.startsWith('incident.')) return data.id ? urls.incident.replace('INCIDENT', encodeURIComponent(data.id)) : '';
  if (event.startsWith('alert.') && data.id) return urls.alert.replace('00000000-0000-0000-0000-000000000000', data.id);
  if (data.incident) return urls.incident.replace('INCIDENT', encodeURIComponent(data.incident));
  if (event.startsWith('resource_request.') || event.startsWith('inventory.')) return urls.resources;
  if (event.startsWith('meeting.') || event.startsWith('joint_command.')) return urls.command;
  if (event.startsWith('agreement.')) return urls.agreements;
  return '';
}

// A name a playbook gave ("Joint command: …", in English in the data) in the page's language.
function localName(name) {
  for (const { before, after, param, local } of words.names || []) {
    if (name.startsWith(before) && name.endsWith(after) && name.length >= before.length + after.length) {
      return local.replace(`%(${param})s`, name.slice(before.length, name.length - after.length));
    }
  }
  return name;
}

// A text a playbook wrote in three languages ({"zh-hans": …, "zh-hant": …, "en": …}: a task's
// title_texts) in the reader's (words.language), as coordination.workflows.texts.localized reads
// it: a Traditional reader falls back to Simplified, anyone to English, then to what is there.
function localized(texts) {
  const order = { 'zh-hant': ['zh-hant', 'zh-hans', 'zh'], 'zh-hans': ['zh-hans', 'zh', 'zh-hant'] }[words.language] || [];
  for (const key of [...order, 'en', 'zh-hans', 'zh']) {
    if (texts[key]) return String(texts[key]);
  }
  return Object.values(texts).find(Boolean) || '';
}

// Which script a CAP block's language is written in: zh-hant, zh-hans or en (as the server's language_key).
function languageKey(language) {
  const code = String(language || '').toLowerCase();
  if (['zh-hant', 'zh-hk', 'zh-mo', 'zh-tw'].some((prefix) => code.startsWith(prefix))) return 'zh-hant';
  return code.startsWith('zh') ? 'zh-hans' : 'en';
}

// An alert's headline from the block in the reader's language, then any Chinese one for a
// Chinese reader, then the first (ui/feed.py, _headline).
function headline(infos) {
  const mine = words.language || 'en';
  const rank = (info) => {
    const theirs = languageKey(info.language);
    return theirs === mine ? 0 : theirs.slice(0, 2) === mine.slice(0, 2) ? 1 : 2;
  };
  const info = [...infos].sort((a, b) => rank(a) - rank(b)).find((block) => block.headline || block.event);
  return info ? info.headline || info.event : '';
}

export function title(event, data) {
  if (data.title_texts && Object.keys(data.title_texts).length) return localized(data.title_texts);
  if (data.title) return event.startsWith('meeting.') ? localName(data.title) : data.title;
  if (event.startsWith('workflow.step_') && data.step) {
    return `${(words.steps || {})[data.step.kind] || data.step.kind} · ${data.incident || ''}`;
  }
  if (event.startsWith('alert.')) return headline(data.info || []) || data.identifier || '';
  if (data.entry && data.entry.text) return data.entry.text;
  if (event.startsWith('inventory.') && data.resource_type) return (words.resources || {})[data.resource_type] || data.resource_type;
  return (data.name && localName(data.name)) || data.incident || data.id || '';
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function feedLine(message) {
  const data = message.data || {};
  const li = element('li', 'fresh');
  li.dataset.seq = message.seq;
  const when = element('time', 'when', formatTime(message.at));
  when.dateTime = message.at;
  li.append(when, element('span', 'what', (words.events || {})[message.event] || message.event));
  if (words.levels && words.levels[data.level]) {
    const badge = element('span', `lvl lvl-${data.level}`, words.levels[data.level]);
    badge.dataset.level = data.level;
    li.append(badge, ' ');
  }
  if (data.exercise) li.append(element('span', 'exercise', words.exercise), ' ');
  const href = link(message.event, data);
  const text = String(title(message.event, data)).slice(0, 200);
  if (href) {
    const a = element('a', '', text);
    a.href = href;
    li.append(a);
  } else {
    li.append(text);
  }
  if (data.jurisdiction) li.append(' ', element('span', 'tag', (words.places || {})[data.jurisdiction] || data.jurisdiction));
  // A request asked of a coordination body (ui/feed.py's `body`).
  if (data.for_body) li.append(' ', element('span', 'tag', (words.bodies || {})[data.for_body] || data.for_body));
  if (data.status && message.event.startsWith('incident.')) li.append(' ', element('span', 'status', (words.statuses || {})[data.status] || data.status));
  return li;
}

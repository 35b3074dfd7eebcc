// An alert's CAP document is the machine message (the standard's codes, times and namespace),
// not words for a reader: the page holds it in a <template> and puts it on the page only when
// the officer opens "Show the CAP document".

export function showWhenOpened(root = document) {
  for (const details of root.querySelectorAll('details[data-cap-document]')) {
    details.addEventListener('toggle', () => {
      const template = details.querySelector('template');
      if (details.open && template) template.replaceWith(template.content.cloneNode(true));
    });
  }
}

showWhenOpened();

/** The two escaping helpers of server/notify/render.ts, one per chat markup. */
import { describe, expect, it } from 'vitest';
import { escapeMarkdown, escapeSlackMrkdwn } from '../../server/notify/render.ts';

const HOSTILE = [
  '[click](http://evil.example)',
  '<!channel> <!here> <@U024BE7LH> <http://evil.example|x>',
  '<at user_id="all">所有人</at> <font color="warning">red</font>',
  '**bold** *it* _it_ __b__ ~s~ ~~s~~ `code` ```block```',
  'line one\n> quote\n# heading\n- item\n[ref]: http://evil.example',
  'back\\slash \\[not escaped\\] &lt;!channel&gt; AT&T',
  'x\r\ny\u2028z\u2029w\tv\u0000u',
];

describe('escapeMarkdown (WeCom, DingTalk, Feishu)', () => {
  it.each([
    ['[click](http://evil.example)', '［click］（http：//evil.example）'],
    ['**x** _y_ ~z~ `c`', '＊＊x＊＊ ＿y＿ ～z～ ｀c｀'],
    ['<at user_id="all">all</at>', '＜at user＿id="all"＞all＜/at＞'],
    ['a\n> b\n# c', 'a ＞ b ＃ c'],
    ['AT&T \\o/', 'AT＆T ＼o/'],
  ])('%j → %j', (input, output) => {
    expect(escapeMarkdown(input)).toBe(output);
  });

  it.each(HOSTILE)('leaves no markup character, line break or URL scheme in %j', (input) => {
    const out = escapeMarkdown(input);
    expect(out).not.toMatch(/[\\*_~`[\]()<>#&\p{Cc}\u2028\u2029]/u);
    expect(out).not.toContain('://');
  });

  it('keeps ordinary text as it is', () => {
    for (const text of ['Door opened in armed room 1203', '布防房间 1203 门被打开', 'door-2-14', 'demo-hotel', 'Low battery: 2.6 V, 10:14', 'li.na']) {
      expect(escapeMarkdown(text)).toBe(text);
    }
  });
});

describe('escapeSlackMrkdwn', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<http://evil.example|click>', '&lt;http：//evil.example|click&gt;'],
    ['AT&T &lt;', 'AT&amp;T &amp;lt;'],
    ['*b* _i_ ~s~ `c`', '＊b＊ ＿i＿ ～s～ ｀c｀'],
    ['a\n> b', 'a &gt; b'],
  ])('%j → %j', (input, output) => {
    expect(escapeSlackMrkdwn(input)).toBe(output);
  });

  it.each(HOSTILE)('leaves no control or formatting character, line break or URL scheme in %j', (input) => {
    const out = escapeSlackMrkdwn(input);
    expect(out).not.toMatch(/[<>*_~`\p{Cc}\u2028\u2029]/u);
    // Every & left is the start of one of the three entities Slack decodes.
    expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    expect(out).not.toContain('://');
  });

  it('keeps ordinary text as it is', () => {
    for (const text of ['Door opened in armed room 1203', '布防房间 1203 门被打开', 'door-2-14', '[Critical] (2F)']) {
      expect(escapeSlackMrkdwn(text)).toBe(text);
    }
  });
});

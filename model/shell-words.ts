/**
 * Splits a string command (Compose, or a Ployz manifest) the way a shell would split words — quotes and backslashes —
 * but runs no shell: operators like `&&` or `|` are refused rather than passed on as arguments.
 */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    if (ch === "\\" && text[i + 1] === "\n") {
      i++; // a line continuation joins lines; it is not a word
      continue;
    }
    inWord = true;
    if (ch === "\\") {
      i++;
      if (i >= text.length) throw new Error("ends with a lone backslash");
      word += text[i];
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error("has an unclosed '");
      word += text.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      for (i++; ; i++) {
        if (i >= text.length) throw new Error('has an unclosed "');
        const c = text[i]!;
        if (c === '"') break;
        // Inside double quotes a backslash escapes only these, as in sh.
        if (c === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
          i++;
          if (text[i] !== "\n") word += text[i];
        } else {
          word += c;
        }
      }
    } else if ("|&;<>()`".includes(ch)) {
      throw new Error(`uses the shell operator "${ch}", but no shell runs it: write ["/bin/sh", "-c", "…"]`);
    } else {
      word += ch;
    }
  }
  if (inWord) words.push(word);
  return words;
}

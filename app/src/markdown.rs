//! Message formatting: a small Markdown subset, parsed into a tree the UI renders as elements.
//!
//! Why a tree and not HTML: the UI builds each element itself from [`Block`]s and [`Inline`]s,
//! so no message can produce markup, whatever it contains: text is only ever a text node, a
//! link only ever an `<a>` whose `href` passed [`safe_href`]. Raw HTML in a message is shown as
//! the text it is.
//!
//! What is formatted (CommonMark as `pulldown-cmark` reads it, with strikethrough; the rest of
//! CommonMark is shown in the closest of these forms):
//!
//! - `**bold**`, `*italic*` / `_italic_`, `~~strikethrough~~`, `` `code` ``;
//! - fenced (```` ``` ````) or indented code blocks, shown in monospace, never highlighted;
//! - `> quotes`, `- lists` and `1. lists`;
//! - links: bare `http(s)://` addresses and e-mail addresses, `<https://…>` and
//!   `[text](https://…)`; only `http`, `https` and `mailto` destinations become links (anything
//!   else, `javascript:` included, stays text);
//! - a line break is a line break (chat, not a document);
//! - headings are shown as bold paragraphs, images as a link to the image (nothing is loaded
//!   from a message), a `---` rule as a rule.
//!
//! Mentions ([`crate::mentions`]) keep working: a mention whose text is plain in the message
//! (not inside code or a link) becomes an [`Inline::Mention`].
//!
//! Bounds: bodies are at most [`crate::limits::MAX_MESSAGE_CHARS`]; nesting deeper than
//! [`MAX_DEPTH`] is flattened, so a `>>>>…` line cannot make the renderer recurse without end.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::mentions::Mention;

/// A block of a formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph (also a heading, shown bold).
    Paragraph(Vec<Inline>),
    /// A code block's text, as written.
    Code(String),
    /// A block quote.
    Quote(Vec<Block>),
    /// A list: `start` for a numbered one; each item is blocks.
    List {
        /// The first number of a numbered list; `None` for bullets.
        start: Option<u64>,
        /// The items.
        items: Vec<Vec<Block>>,
    },
    /// A thematic break (`---`).
    Rule,
}

/// Inline content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// A mention, with the text it was written as.
    Mention(Mention, String),
    /// Bold.
    Strong(Vec<Inline>),
    /// Italic.
    Emphasis(Vec<Inline>),
    /// Struck through.
    Strike(Vec<Inline>),
    /// Inline code.
    Code(String),
    /// A link to a destination [`safe_href`] accepted.
    Link {
        /// The destination.
        href: String,
        /// What the link shows.
        children: Vec<Inline>,
    },
    /// A line break.
    Break,
}

/// Nesting deeper than this (quotes in quotes, bold in links in lists…) is flattened into the
/// innermost level kept.
pub const MAX_DEPTH: usize = 12;

/// `href` as a link destination, if it is one a message may link to: `http`, `https` or
/// `mailto`, with no whitespace or control characters anywhere (browsers drop tabs and line
/// breaks inside URLs, which would let `java\nscript:` through a looser check).
pub fn safe_href(href: &str) -> Option<&str> {
    if href.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = href.split_once(':')?;
    let allowed = ["http", "https", "mailto"].iter().any(|s| scheme.eq_ignore_ascii_case(s));
    (allowed && !rest.is_empty()).then_some(href)
}

/// Parses `body` (with its `mentions`, byte offsets into it) into blocks.
pub fn parse(body: &str, mentions: &[Mention]) -> Vec<Block> {
    let mut builder = Builder { body, mentions, stack: vec![Frame::blocks(Kind::Root)], open: Vec::new() };
    let mut text: Option<(Range<usize>, String)> = None;
    for (event, range) in Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH).into_offset_iter() {
        // Text comes in pieces (pulldown-cmark splits at characters that might have been
        // markup): pieces that follow one another in the body are joined first, so a mention or
        // an address across a split stays whole.
        if let Event::Text(t) = &event {
            let verbatim = body.get(range.clone()) == Some(t.as_ref());
            match &mut text {
                Some((r, s)) if verbatim && r.end == range.start => {
                    r.end = range.end;
                    s.push_str(t);
                }
                _ => {
                    if let Some((r, s)) = text.take() {
                        builder.text(s, Some(r));
                    }
                    if verbatim {
                        text = Some((range, t.to_string()));
                    } else {
                        builder.text(t.to_string(), None);
                    }
                }
            }
            continue;
        }
        if let Some((r, s)) = text.take() {
            builder.text(s, Some(r));
        }
        builder.event(event, range);
    }
    if let Some((r, s)) = text.take() {
        builder.text(s, Some(r));
    }
    builder.finish()
}

/// What a frame of the builder's stack becomes when it closes.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Root,
    Quote,
    Item,
    List(Option<u64>),
    Paragraph,
    Heading,
    Strong,
    Emphasis,
    Strike,
    /// A link (or an image, shown as a link); `None` when its destination is not allowed: its
    /// text is then kept, plain.
    Link(Option<String>),
    Code,
}

impl Kind {
    fn is_block(&self) -> bool {
        matches!(self, Kind::Root | Kind::Quote | Kind::Item)
    }
}

#[derive(Debug)]
struct Frame {
    kind: Kind,
    blocks: Vec<Block>,
    /// Inline content: of an inline frame, or loose inlines in a block frame (a tight list's
    /// items hold text without a paragraph) waiting to become a paragraph.
    inlines: Vec<Inline>,
    /// A list's items, or a code block's text.
    items: Vec<Vec<Block>>,
    code: String,
}

impl Frame {
    fn blocks(kind: Kind) -> Self {
        Frame { kind, blocks: Vec::new(), inlines: Vec::new(), items: Vec::new(), code: String::new() }
    }

    /// Loose inlines become a paragraph before a block is added after them.
    fn flush(&mut self) {
        if !self.inlines.is_empty() {
            self.blocks.push(Block::Paragraph(std::mem::take(&mut self.inlines)));
        }
    }
}

struct Builder<'a> {
    body: &'a str,
    mentions: &'a [Mention],
    stack: Vec<Frame>,
    /// For every `Start` seen and not yet ended: whether it opened a frame (false past
    /// [`MAX_DEPTH`], or for tags shown flat).
    open: Vec<bool>,
}

impl Builder<'_> {
    fn top(&mut self) -> &mut Frame {
        self.stack.last_mut().expect("the root frame stays")
    }

    fn in_link_or_code(&self) -> bool {
        self.stack.iter().any(|f| matches!(f.kind, Kind::Link(_) | Kind::Code))
    }

    fn push_inline(&mut self, inline: Inline) {
        let top = self.top();
        match top.kind {
            Kind::List(_) => {
                // Inline content directly in a list (not in an item) does not happen in
                // CommonMark; kept as an item of its own rather than lost.
                top.items.push(vec![Block::Paragraph(vec![inline])]);
            }
            Kind::Code => {
                if let Inline::Text(t) = inline {
                    top.code.push_str(&t);
                }
            }
            _ => top.inlines.push(inline),
        }
    }

    fn push_block(&mut self, block: Block) {
        let top = self.top();
        if top.kind.is_block() {
            top.flush();
            top.blocks.push(block);
        } else if let Kind::List(_) = top.kind {
            top.items.push(vec![block]);
        } else {
            // A block inside inline content (past the depth limit): its text, inline.
            let inlines = flatten(block);
            top.inlines.extend(inlines);
        }
    }

    fn open(&mut self, kind: Kind) {
        // Depth counts frames below the root.
        if self.stack.len() > MAX_DEPTH || self.top().kind == Kind::Code {
            self.open.push(false);
            return;
        }
        if !kind.is_block() && self.top().kind.is_block() {
            // Inline frames sit in a block frame's loose inlines; nothing to flush.
        } else if kind.is_block() || matches!(kind, Kind::List(_) | Kind::Paragraph | Kind::Heading | Kind::Code) {
            self.top().flush();
        }
        self.stack.push(Frame::blocks(kind));
        self.open.push(true);
    }

    fn close(&mut self) {
        if !self.open.pop().unwrap_or(false) {
            return;
        }
        let mut frame = self.stack.pop().expect("an opened frame");
        match frame.kind {
            Kind::Root => unreachable!("the root is never opened"),
            Kind::Quote => {
                frame.flush();
                self.push_block(Block::Quote(frame.blocks));
            }
            Kind::Item => {
                frame.flush();
                let top = self.top();
                if let Kind::List(_) = top.kind {
                    top.items.push(frame.blocks);
                } else {
                    for block in frame.blocks {
                        self.push_block(block);
                    }
                }
            }
            Kind::List(start) => self.push_block(Block::List { start, items: frame.items }),
            Kind::Paragraph => self.push_block(Block::Paragraph(frame.inlines)),
            Kind::Heading => self.push_block(Block::Paragraph(vec![Inline::Strong(frame.inlines)])),
            Kind::Code => {
                // A fenced block's text ends with the line break before the closing fence.
                if frame.code.ends_with('\n') {
                    frame.code.pop();
                }
                self.push_block(Block::Code(frame.code));
            }
            Kind::Strong => self.push_inline(Inline::Strong(frame.inlines)),
            Kind::Emphasis => self.push_inline(Inline::Emphasis(frame.inlines)),
            Kind::Strike => self.push_inline(Inline::Strike(frame.inlines)),
            Kind::Link(Some(href)) => {
                let children = if frame.inlines.is_empty() {
                    vec![Inline::Text(href.clone())]
                } else {
                    frame.inlines
                };
                self.push_inline(Inline::Link { href, children });
            }
            Kind::Link(None) => {
                for inline in frame.inlines {
                    self.push_inline(inline);
                }
            }
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(tag) => {
                let kind = match tag {
                    Tag::Paragraph | Tag::HtmlBlock => Kind::Paragraph,
                    Tag::Heading { .. } => Kind::Heading,
                    Tag::BlockQuote(_) => Kind::Quote,
                    Tag::CodeBlock(_) => Kind::Code,
                    Tag::List(start) => Kind::List(start),
                    Tag::Item => Kind::Item,
                    Tag::Emphasis => Kind::Emphasis,
                    Tag::Strong => Kind::Strong,
                    Tag::Strikethrough => Kind::Strike,
                    Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                        Kind::Link(safe_href(&dest_url).map(str::to_owned))
                    }
                    // Not enabled (tables, footnotes, metadata…): their content, as paragraphs.
                    _ => Kind::Paragraph,
                };
                self.open(kind);
            }
            Event::End(TagEnd::HtmlBlock) | Event::End(_) => self.close(),
            Event::Text(text) => self.text(text.to_string(), Some(range)),
            Event::Code(code) => self.push_inline(Inline::Code(code.to_string())),
            Event::Html(html) | Event::InlineHtml(html) => self.push_inline(Inline::Text(html.to_string())),
            Event::SoftBreak | Event::HardBreak => {
                if self.top().kind == Kind::Code {
                    self.push_inline(Inline::Text("\n".to_owned()));
                } else {
                    self.push_inline(Inline::Break);
                }
            }
            Event::Rule => self.push_block(Block::Rule),
            // Not enabled; shown as written.
            _ => {
                if let Some(source) = self.body.get(range) {
                    let source = source.to_owned();
                    self.push_inline(Inline::Text(source));
                }
            }
        }
    }

    /// Text: mentions split out where the text is the body's own (`range`), and addresses
    /// turned into links outside links and code.
    fn text(&mut self, text: String, range: Option<Range<usize>>) {
        if self.top().kind == Kind::Code {
            self.push_inline(Inline::Text(text));
            return;
        }
        let plain = !self.in_link_or_code();
        let mut at = 0;
        if let Some(range) = range {
            let inside: Vec<Mention> = self
                .mentions
                .iter()
                .filter(|m| m.start as usize >= range.start && m.end as usize <= range.end)
                .cloned()
                .collect();
            for mention in inside {
                let (start, end) = (mention.start as usize - range.start, mention.end as usize - range.start);
                if start < at || end <= start || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    continue;
                }
                self.plain(&text[at..start], plain);
                let written = text[start..end].to_owned();
                if plain {
                    self.push_inline(Inline::Mention(mention, written));
                } else {
                    self.push_inline(Inline::Text(written));
                }
                at = end;
            }
        }
        self.plain(&text[at..], plain);
    }

    /// Text with its addresses linked (when `links`).
    fn plain(&mut self, text: &str, links: bool) {
        if text.is_empty() {
            return;
        }
        if !links {
            self.push_inline(Inline::Text(text.to_owned()));
            return;
        }
        for span in linkify::LinkFinder::new().spans(text) {
            let piece = span.as_str().to_owned();
            let href = match span.kind() {
                Some(linkify::LinkKind::Url) => safe_href(&piece).map(str::to_owned),
                Some(linkify::LinkKind::Email) => Some(format!("mailto:{piece}")),
                _ => None,
            };
            match href {
                Some(href) => self.push_inline(Inline::Link { href, children: vec![Inline::Text(piece)] }),
                None => self.push_inline(Inline::Text(piece)),
            }
        }
    }

    fn finish(mut self) -> Vec<Block> {
        while self.stack.len() > 1 {
            self.open.push(true);
            self.close();
        }
        let mut root = self.stack.pop().expect("the root frame");
        root.flush();
        root.blocks
    }
}

/// A block's content as inlines (for blocks that end up where only inlines fit).
fn flatten(block: Block) -> Vec<Inline> {
    match block {
        Block::Paragraph(inlines) => inlines,
        Block::Code(code) => vec![Inline::Code(code)],
        Block::Quote(blocks) => blocks.into_iter().flat_map(flatten).collect(),
        Block::List { items, .. } => items.into_iter().flatten().flat_map(flatten).collect(),
        Block::Rule => Vec::new(),
    }
}

/// The plain text of inlines (what a screen reader or a notification would say).
pub fn plain_text(blocks: &[Block]) -> String {
    fn inline(out: &mut String, inlines: &[Inline]) {
        for i in inlines {
            match i {
                Inline::Text(t) | Inline::Code(t) | Inline::Mention(_, t) => out.push_str(t),
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inline(out, c),
                Inline::Link { children, .. } => inline(out, children),
                Inline::Break => out.push('\n'),
            }
        }
    }
    let mut out = String::new();
    for block in blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        match block {
            Block::Paragraph(i) => inline(&mut out, i),
            Block::Code(c) => out.push_str(c),
            Block::Quote(b) => out.push_str(&plain_text(b)),
            Block::List { items, .. } => {
                let texts: Vec<String> = items.iter().map(|i| plain_text(i)).collect();
                out.push_str(&texts.join("\n"));
            }
            Block::Rule => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    fn para(inlines: Vec<Inline>) -> Block {
        Block::Paragraph(inlines)
    }

    #[test]
    fn plain_text_is_one_paragraph() {
        assert_eq!(parse("hello there", &[]), vec![para(vec![text("hello there")])]);
    }

    #[test]
    fn formats_the_subset() {
        assert_eq!(
            parse("**b** *i* ~~s~~ `c`", &[]),
            vec![para(vec![
                Inline::Strong(vec![text("b")]),
                text(" "),
                Inline::Emphasis(vec![text("i")]),
                text(" "),
                Inline::Strike(vec![text("s")]),
                text(" "),
                Inline::Code("c".into()),
            ])]
        );
        assert_eq!(parse("```\nfn main() {}\n  x\n```", &[]), vec![Block::Code("fn main() {}\n  x".into())]);
        assert_eq!(parse("> quoted\n\nafter", &[]), vec![
            Block::Quote(vec![para(vec![text("quoted")])]),
            para(vec![text("after")]),
        ]);
        assert_eq!(parse("- a\n- b", &[]), vec![Block::List {
            start: None,
            items: vec![vec![para(vec![text("a")])], vec![para(vec![text("b")])]],
        }]);
    }

    #[test]
    fn line_breaks_are_kept() {
        assert_eq!(parse("one\ntwo", &[]), vec![para(vec![text("one"), Inline::Break, text("two")])]);
    }

    #[test]
    fn addresses_become_links_and_other_schemes_stay_text() {
        let link = |href: &str, t: &str| Inline::Link { href: href.into(), children: vec![text(t)] };
        assert_eq!(parse("see https://example.com/a?b=1 now", &[]), vec![para(vec![
            text("see "),
            link("https://example.com/a?b=1", "https://example.com/a?b=1"),
            text(" now"),
        ])]);
        assert_eq!(parse("[docs](https://example.com)", &[]), vec![para(vec![link("https://example.com", "docs")])]);
        assert_eq!(parse("mail ada@example.com", &[]), vec![para(vec![
            text("mail "),
            link("mailto:ada@example.com", "ada@example.com"),
        ])]);
        for attack in [
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click](java\tscript:alert(1))",
            "[click](data:text/html,<script>alert(1)</script>)",
            "[click](vbscript:x)",
            "[click](/relative)",
            "<javascript:alert(1)>",
            "![img](javascript:alert(1))",
        ] {
            let blocks = parse(attack, &[]);
            assert!(!has_link(&blocks), "{attack} made a link: {blocks:?}");
        }
        // An image is a link to it, never loaded.
        assert_eq!(parse("![cat](https://example.com/cat.png)", &[]), vec![para(vec![link(
            "https://example.com/cat.png",
            "cat"
        )])]);
    }

    #[test]
    fn safe_href_allows_only_web_and_mail() {
        assert!(safe_href("https://example.com").is_some());
        assert!(safe_href("HTTP://example.com").is_some());
        assert!(safe_href("mailto:ada@example.com").is_some());
        for bad in ["javascript:alert(1)", " https://x", "https://x y", "https:", "ftp://x", "//x", "x"] {
            assert!(safe_href(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn html_is_text() {
        let blocks = parse("<b>hi</b> <script>alert(1)</script>", &[]);
        assert_eq!(plain_text(&blocks), "<b>hi</b> <script>alert(1)</script>");
        assert!(!has_link(&blocks));
    }

    #[test]
    fn mentions_survive_formatting_and_splits() {
        let body = "hi @ada_l, **@ada_l** `@ada_l`";
        let m = |start: usize, end: usize| Mention { start: start as u32, end: end as u32, user: None };
        let mentions = [m(3, 9), m(13, 19), m(24, 30)];
        let blocks = parse(body, &mentions);
        assert_eq!(blocks, vec![para(vec![
            text("hi "),
            Inline::Mention(m(3, 9), "@ada_l".into()),
            text(", "),
            Inline::Strong(vec![Inline::Mention(m(13, 19), "@ada_l".into())]),
            text(" "),
            // In code, a mention is code.
            Inline::Code("@ada_l".into()),
        ])]);
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let body = format!("{} deep", ">".repeat(2000));
        let blocks = parse(&body, &[]);
        fn depth(blocks: &[Block]) -> usize {
            blocks.iter().map(|b| match b {
                Block::Quote(inner) => 1 + depth(inner),
                Block::List { items, .. } => 1 + items.iter().map(|i| depth(i)).max().unwrap_or(0),
                _ => 0,
            }).max().unwrap_or(0)
        }
        assert!(depth(&blocks) <= MAX_DEPTH);
        assert_eq!(plain_text(&blocks), "deep");
    }

    #[test]
    fn unbalanced_markup_is_text() {
        for body in ["``` never closed `x", "**bold", "[a](https://x.com", "~~s"] {
            assert_eq!(plain_text(&parse(body, &[])), body);
        }
        let long = "a".repeat(4000);
        assert_eq!(plain_text(&parse(&long, &[])), long);
    }

    fn has_link(blocks: &[Block]) -> bool {
        fn inl(i: &[Inline]) -> bool {
            i.iter().any(|i| match i {
                Inline::Link { .. } => true,
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inl(c),
                _ => false,
            })
        }
        blocks.iter().any(|b| match b {
            Block::Paragraph(i) => inl(i),
            Block::Quote(b) => has_link(b),
            Block::List { items, .. } => items.iter().any(|i| has_link(i)),
            _ => false,
        })
    }

    proptest! {
        // Any text parses without panicking, and every link it makes is an allowed one.
        #[test]
        fn any_text_parses_to_safe_links(body in "[-*_`~>\\[\\]()<>!#a-z:/@ \n]{0,200}") {
            let blocks = parse(&body, &[]);
            fn check(blocks: &[Block]) {
                fn inl(i: &[Inline]) {
                    for i in i {
                        match i {
                            Inline::Link { href, children } => { assert!(safe_href(href).is_some(), "{href}"); inl(children) }
                            Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inl(c),
                            _ => {}
                        }
                    }
                }
                for b in blocks {
                    match b {
                        Block::Paragraph(i) => inl(i),
                        Block::Quote(b) => check(b),
                        Block::List { items, .. } => items.iter().for_each(|i| check(i)),
                        _ => {}
                    }
                }
            }
            check(&blocks);
        }
    }
}

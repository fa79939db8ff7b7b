//! The commands shown in the documentation, as the suite runs them (`tests/doc_commands.rs`).
//!
//! The contract: in each Markdown file, every block fenced ```` ```sh ```` is something a reader
//! types, so the blocks of one file, in order, are joined into one bash script
//! (`set -euo pipefail`) that must succeed. ```` ```sh no-run ```` marks the few commands that
//! cannot run inside the suite (the suite itself, a container daemon); ```` ```text ````,
//! ```` ```console ```` and the like are illustrations. ```` ```bash ```` and ```` ```shell ````
//! are refused, so a command is never left out by a fence's spelling.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Fence languages refused in favour of `sh`.
const SHELL_ALIASES: [&str; 3] = ["bash", "shell", "zsh"];
/// The info-string word that keeps an `sh` block out of the script.
pub const NO_RUN: &str = "no-run";

/// A fenced code block of a Markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The info string after the fence, trimmed (`sh`, `sh no-run`, `yaml`, ...).
    pub info: String,
    /// The lines between the fences, the fence's indentation removed.
    pub body: String,
}

impl Block {
    /// Whether the suite runs this block.
    pub fn runs(&self) -> bool {
        let mut words = self.info.split_whitespace();
        words.next() == Some("sh") && !words.any(|w| w == NO_RUN)
    }
}

/// The fenced code blocks of `markdown` (backtick or tilde fences, indented ones in list items
/// included), or an error naming the line of a fence that is never closed.
pub fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut open: Option<(Fence, Block)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(fence) = Fence::opening(line) {
                    let info = line[fence.indent + fence.len..].trim().to_string();
                    let block = Block {
                        line: index + 1,
                        info,
                        body: String::new(),
                    };
                    open = Some((fence, block));
                }
            }
            Some((fence, block)) => {
                if fence.closes(line) {
                    out.push(open.take().unwrap().1);
                } else {
                    block.body.push_str(strip_indent(line, fence.indent));
                    block.body.push('\n');
                }
            }
        }
    }
    match open {
        Some((_, block)) => Err(format!(
            "the code block opened at line {} is never closed",
            block.line
        )),
        None => Ok(out),
    }
}

/// An opening fence: its character, length and indentation.
struct Fence {
    char: char,
    len: usize,
    indent: usize,
}

impl Fence {
    fn opening(line: &str) -> Option<Fence> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let char = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.len() - rest.trim_start_matches(char).len();
        // A backtick fence's info string holds no backtick (that is inline code).
        (len >= 3 && !(char == '`' && rest[len..].contains('`'))).then_some(Fence {
            char,
            len,
            indent,
        })
    }

    fn closes(&self, line: &str) -> bool {
        let rest = line.trim_start_matches(' ');
        let len = rest.len() - rest.trim_start_matches(self.char).len();
        len >= self.len && rest[len..].trim().is_empty()
    }
}

/// `line` without up to `indent` leading spaces.
fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    &line[spaces.min(indent)..]
}

/// The problems with the fences of `markdown` (a shell block fenced other than `sh`, an
/// unclosed fence), each naming `file` and the line.
pub fn fence_problems(file: &str, markdown: &str) -> Vec<String> {
    match blocks(markdown) {
        Err(e) => vec![format!("{file}: {e}")],
        Ok(blocks) => blocks
            .iter()
            .filter(|b| SHELL_ALIASES.contains(&b.info.split_whitespace().next().unwrap_or("")))
            .map(|b| {
                format!(
                    "{file}:{}: fenced ```{}: use ```sh (run by the suite) or ```sh {NO_RUN}",
                    b.line, b.info
                )
            })
            .collect(),
    }
}

/// The bash script of the runnable blocks of `file`, or `None` when it has none. Before each
/// block it writes `FILE:LINE` to the file named by `$NAUTH_DOC_BLOCK_FILE`, and `done` after the
/// last one, so the runner can say which block failed (a block's own `trap` cannot hide it).
pub fn script(file: &str, blocks: &[Block]) -> Option<String> {
    let runnable: Vec<&Block> = blocks.iter().filter(|b| b.runs()).collect();
    if runnable.is_empty() {
        return None;
    }
    let mut script = String::from("set -euo pipefail\n");
    for block in runnable {
        let place = shell_quote(&format!("{file}:{}", block.line));
        writeln!(script, "printf '%s\\n' {place} >\"$NAUTH_DOC_BLOCK_FILE\"").unwrap();
        script.push_str(&block.body);
    }
    script.push_str("printf 'done\\n' >\"$NAUTH_DOC_BLOCK_FILE\"\n");
    Some(script)
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The Markdown files the contract covers, relative to `root`, sorted: README.md, tests/README.md,
/// docs/**/*.md, examples/*/README.md, charts/*/README.md and kustomize/**/README.md.
pub fn covered_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["README.md", "tests/README.md"] {
        if root.join(top).is_file() {
            files.push(PathBuf::from(top));
        }
    }
    walk(root, Path::new("docs"), &mut files, &|p| {
        p.extension().is_some_and(|e| e == "md")
    });
    for dir in ["examples", "charts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let readme = Path::new(dir).join(entry.file_name()).join("README.md");
            if root.join(&readme).is_file() {
                files.push(readme);
            }
        }
    }
    walk(root, Path::new("kustomize"), &mut files, &|p| {
        p.file_name().is_some_and(|n| n == "README.md")
    });
    files.sort();
    files
}

/// Adds the files under `root/dir` that `wanted` accepts, as paths relative to `root`.
fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>, wanted: &dyn Fn(&Path) -> bool) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = dir.join(entry.file_name());
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, files, wanted),
            Ok(t) if t.is_file() && wanted(&path) => files.push(path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# Title

```sh
echo one
```

- a list item:

  ```sh
  if true; then
    echo two
  fi
  ```

```console
$ echo three
```

````sh no-run
```
cargo test
````

~~~yaml
a: `b`
~~~
"#;

    #[test]
    fn blocks_have_their_line_info_and_unindented_body() {
        let blocks = blocks(DOC).unwrap();
        let summary: Vec<(usize, &str, &str)> = blocks
            .iter()
            .map(|b| (b.line, b.info.as_str(), b.body.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (3, "sh", "echo one\n"),
                (9, "sh", "if true; then\n  echo two\nfi\n"),
                (15, "console", "$ echo three\n"),
                (19, "sh no-run", "```\ncargo test\n"),
                (24, "yaml", "a: `b`\n"),
            ]
        );
        let runs: Vec<bool> = blocks.iter().map(Block::runs).collect();
        assert_eq!(runs, [true, true, false, false, false]);
    }

    #[test]
    fn the_script_marks_each_block_before_running_it() {
        let script = script("README.md", &blocks(DOC).unwrap()).unwrap();
        assert_eq!(
            script,
            r#"set -euo pipefail
printf '%s\n' 'README.md:3' >"$NAUTH_DOC_BLOCK_FILE"
echo one
printf '%s\n' 'README.md:9' >"$NAUTH_DOC_BLOCK_FILE"
if true; then
  echo two
fi
printf 'done\n' >"$NAUTH_DOC_BLOCK_FILE"
"#
        );
        assert_eq!(script_of("```yaml\na: 1\n```\n"), None);
    }

    fn script_of(markdown: &str) -> Option<String> {
        script("x.md", &blocks(markdown).unwrap())
    }

    #[test]
    fn an_unclosed_fence_and_shell_fences_other_than_sh_are_problems() {
        assert_eq!(
            fence_problems("a.md", "text\n```sh\necho\n"),
            ["a.md: the code block opened at line 2 is never closed"]
        );
        assert_eq!(
            fence_problems("a.md", "```bash\necho\n```\n```sh\necho\n```\n"),
            ["a.md:1: fenced ```bash: use ```sh (run by the suite) or ```sh no-run"]
        );
    }

    #[test]
    fn inline_code_with_three_backticks_is_no_fence() {
        assert_eq!(blocks("Use ```sh``` fences.\n").unwrap(), []);
    }

    #[test]
    fn covered_files_are_found_without_a_list() {
        let root = tempfile::tempdir().unwrap();
        let files = [
            "README.md",
            "tests/README.md",
            "docs/a.md",
            "docs/guides/b.md",
            "examples/x/README.md",
            "examples/x/notes.md",
            "charts/c/README.md",
            "kustomize/README.md",
            "kustomize/krm/README.md",
            "render/README.md",
        ];
        for file in files {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let found: Vec<String> = covered_files(root.path())
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            found,
            [
                "README.md",
                "charts/c/README.md",
                "docs/a.md",
                "docs/guides/b.md",
                "examples/x/README.md",
                "kustomize/README.md",
                "kustomize/krm/README.md",
                "tests/README.md",
            ]
        );
    }
}

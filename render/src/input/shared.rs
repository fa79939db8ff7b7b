//! Reading the same file text more than once parses it once: `diff` reads two trees that
//! share almost every file, and parsing is the largest part of its time.

use std::collections::HashMap;

use super::{Contents, Inputs, Object};
use crate::diagnostic::Diagnostic;

/// Files to be read, by their text, with how many readings of each are still to come and the
/// objects and problems [`Inputs::add_yaml`] found in it. A text read once is parsed straight
/// into its side; a text read more often is parsed once, copied for every reading but the
/// last, and the last takes the parsed objects themselves.
pub struct ParsedFiles<'t>(HashMap<(&'t str, Contents), Expected>);

struct Expected {
    readings_left: usize,
    parsed: Option<Parsed>,
}

struct Parsed {
    objects: Inputs,
    problems: Vec<Diagnostic>,
}

impl<'t> ParsedFiles<'t> {
    /// Expects every reading of `texts` (a text as often as it will be read) with `contents`.
    pub fn expecting(texts: impl IntoIterator<Item = &'t str>, contents: Contents) -> Self {
        let mut expected = HashMap::new();
        for text in texts {
            let e = expected.entry((text, contents)).or_insert(Expected {
                readings_left: 0,
                parsed: None,
            });
            e.readings_left += 1;
        }
        ParsedFiles(expected)
    }

    /// [`Inputs::add_yaml`] of `text` into `inputs`. A text parsed before with the same
    /// `contents` is not parsed again: its objects and problems are reused, named after `file`.
    pub fn add_yaml(
        &mut self,
        inputs: &mut Inputs,
        file: &str,
        text: &'t str,
        contents: Contents,
    ) -> Vec<Diagnostic> {
        let Some(expected) = self.0.get_mut(&(text, contents)) else {
            return inputs.add_yaml(file, text, contents);
        };
        expected.readings_left = expected.readings_left.saturating_sub(1);
        let last = expected.readings_left == 0;
        let parsed = match expected.parsed.take() {
            None if last => return inputs.add_yaml(file, text, contents),
            None => {
                let mut objects = Inputs::default();
                let problems = objects.add_yaml(file, text, contents);
                Parsed { objects, problems }
            }
            Some(parsed) => parsed,
        };
        let problems = (parsed.problems.iter()).map(|d| renamed(d, file)).collect();
        if last {
            append(inputs, parsed.objects, file);
        } else {
            append(inputs, parsed.objects.clone(), file);
            expected.parsed = Some(parsed);
        }
        problems
    }
}

/// A problem found in a cached text, named after the file it is read as now.
fn renamed(d: &Diagnostic, file: &str) -> Diagnostic {
    let mut d = d.clone();
    if d.file.is_some() {
        d.file = Some(file.to_string());
    }
    d
}

/// Moves every object of `from` into `into`, as read from `file`.
fn append(into: &mut Inputs, from: Inputs, file: &str) {
    // Destructured, so a new kind of input cannot be forgotten here.
    let Inputs {
        accounts,
        users,
        exports,
        imports,
        signing_keys,
        clusters,
        secrets,
        encrypted,
    } = from;
    moved(&mut into.accounts, accounts, file);
    moved(&mut into.users, users, file);
    moved(&mut into.exports, exports, file);
    moved(&mut into.imports, imports, file);
    moved(&mut into.signing_keys, signing_keys, file);
    moved(&mut into.clusters, clusters, file);
    moved(&mut into.secrets, secrets, file);
    (into.encrypted).extend(encrypted.iter().map(|d| renamed(d, file)));
}

fn moved<T>(into: &mut Vec<Object<T>>, from: Vec<Object<T>>, file: &str) {
    into.extend(from.into_iter().map(|o| Object {
        file: file.to_string(),
        resource: o.resource,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "apiVersion: nauth.io/v1alpha1\nkind: User\n\
                        metadata: {name: u, namespace: t}\nspec: {accountName: a, bogus: 1}\n";

    #[test]
    fn a_text_read_twice_gives_what_parsing_it_twice_gives() {
        for readings in [[USER, USER].as_slice(), &[USER, USER, USER]] {
            let mut files = ParsedFiles::expecting(readings.iter().copied(), Contents::Everything);
            let (mut cached, mut parsed) = (Inputs::default(), Inputs::default());
            for (i, text) in readings.iter().enumerate() {
                let name = format!("side{i}/u.yaml");
                let reused = files.add_yaml(&mut cached, &name, text, Contents::Everything);
                let fresh = parsed.add_yaml(&name, text, Contents::Everything);
                assert_eq!(reused, fresh);
                assert_eq!(reused[0].file.as_deref(), Some(name.as_str()));
            }
            let files_of = |i: &Inputs| i.users.iter().map(|u| u.file.clone()).collect::<Vec<_>>();
            assert_eq!(files_of(&cached), files_of(&parsed));
            assert_eq!(cached.users[1].resource, parsed.users[1].resource);
        }
    }

    #[test]
    fn what_a_file_may_contribute_is_part_of_the_cache_key() {
        let mut files = ParsedFiles::expecting([USER, USER], Contents::Everything);
        let mut inputs = Inputs::default();
        files.add_yaml(&mut inputs, "a.yaml", USER, Contents::SecretsOnly);
        files.add_yaml(&mut inputs, "b.yaml", USER, Contents::Everything);
        assert_eq!(inputs.users.len(), 1);
        assert_eq!(inputs.users[0].file, "b.yaml");
    }

    #[test]
    fn an_unexpected_or_extra_reading_is_parsed() {
        let mut files = ParsedFiles::expecting([USER], Contents::Everything);
        let mut inputs = Inputs::default();
        for name in ["a.yaml", "b.yaml"] {
            files.add_yaml(&mut inputs, name, USER, Contents::Everything);
        }
        files.add_yaml(&mut inputs, "c.yaml", "kind: x\n", Contents::Everything);
        let names: Vec<_> = inputs.users.iter().map(|u| u.file.as_str()).collect();
        assert_eq!(names, ["a.yaml", "b.yaml"]);
    }
}

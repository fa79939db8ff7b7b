//! Reading the same file text more than once parses it once: `diff` reads two trees that
//! share almost every file, and parsing is the largest part of its time.

use std::collections::HashMap;

use super::{Contents, Inputs, Object};
use crate::diagnostic::Diagnostic;

/// Files parsed so far, by their text: the objects and problems [`Inputs::add_yaml`] found.
#[derive(Default)]
pub struct ParsedFiles(HashMap<String, Parsed>);

struct Parsed {
    contents: Contents,
    objects: Inputs,
    problems: Vec<Diagnostic>,
}

impl ParsedFiles {
    /// [`Inputs::add_yaml`] of `text` into `inputs`. A text parsed before with the same
    /// `contents` is not parsed again: its objects and problems are copied, named after `file`.
    pub fn add_yaml(
        &mut self,
        inputs: &mut Inputs,
        file: &str,
        text: &str,
        contents: Contents,
    ) -> Vec<Diagnostic> {
        let parsed = match self.0.get(text).filter(|p| p.contents == contents) {
            Some(parsed) => parsed,
            None => {
                let mut objects = Inputs::default();
                let problems = objects.add_yaml(file, text, contents);
                let parsed = Parsed {
                    contents,
                    objects,
                    problems,
                };
                self.0.insert(text.to_string(), parsed);
                &self.0[text]
            }
        };
        append(inputs, &parsed.objects, file);
        (parsed.problems.iter()).map(|d| renamed(d, file)).collect()
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

/// Copies every object of `from` into `into`, as read from `file`.
fn append(into: &mut Inputs, from: &Inputs, file: &str) {
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
    copy(&mut into.accounts, accounts, file);
    copy(&mut into.users, users, file);
    copy(&mut into.exports, exports, file);
    copy(&mut into.imports, imports, file);
    copy(&mut into.signing_keys, signing_keys, file);
    copy(&mut into.clusters, clusters, file);
    copy(&mut into.secrets, secrets, file);
    (into.encrypted).extend(encrypted.iter().map(|d| renamed(d, file)));
}

fn copy<T: Clone>(into: &mut Vec<Object<T>>, from: &[Object<T>], file: &str) {
    into.extend(from.iter().map(|o| Object {
        file: file.to_string(),
        resource: o.resource.clone(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "apiVersion: nauth.io/v1alpha1\nkind: User\n\
                        metadata: {name: u, namespace: t}\nspec: {accountName: a, bogus: 1}\n";

    #[test]
    fn a_text_read_twice_gives_what_parsing_it_twice_gives() {
        let mut files = ParsedFiles::default();
        let (mut cached, mut parsed) = (Inputs::default(), Inputs::default());
        files.add_yaml(&mut cached, "base:u.yaml", USER, Contents::Everything);
        let reused = files.add_yaml(&mut cached, "head/u.yaml", USER, Contents::Everything);
        parsed.add_yaml("base:u.yaml", USER, Contents::Everything);
        let fresh = parsed.add_yaml("head/u.yaml", USER, Contents::Everything);
        assert_eq!(reused, fresh);
        assert_eq!(reused[0].file.as_deref(), Some("head/u.yaml"));
        let files_of = |i: &Inputs| i.users.iter().map(|u| u.file.clone()).collect::<Vec<_>>();
        assert_eq!(files_of(&cached), files_of(&parsed));
        assert_eq!(cached.users[1].resource, parsed.users[1].resource);
    }

    #[test]
    fn what_a_file_may_contribute_is_part_of_the_cache_key() {
        let mut files = ParsedFiles::default();
        let mut inputs = Inputs::default();
        files.add_yaml(&mut inputs, "a.yaml", USER, Contents::SecretsOnly);
        files.add_yaml(&mut inputs, "b.yaml", USER, Contents::Everything);
        assert_eq!(inputs.users.len(), 1);
        assert_eq!(inputs.users[0].file, "b.yaml");
    }
}

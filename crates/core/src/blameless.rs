//! The blameless check: sentences of a post-mortem that blame a person rather than a system —
//! a person as the subject of a failure, "human error", "should have", "careless", "fault" —
//! each with a suggestion. A table of rules, matched on whole words.

/// One flagged passage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The sentence, as written.
    pub sentence: String,
    /// What matched, lowercased.
    pub matched: String,
    pub suggestion: &'static str,
}

/// (phrases, suggestion): any phrase, on word boundaries, flags the sentence.
const PHRASES: &[(&[&str], &str)] = &[
    (
        &["human error", "user error", "operator error", "pilot error"],
        "Name the condition that made the mistake possible (a missing guard, an unclear runbook, a risky default) instead of \"human error\".",
    ),
    (
        &[
            "should have",
            "should've",
            "ought to have",
            "could have avoided",
        ],
        "Describe what the system made easy or hard at the time, not what someone ought to have done with hindsight.",
    ),
    (
        &[
            "careless",
            "carelessly",
            "negligent",
            "negligence",
            "sloppy",
            "reckless",
            "incompetent",
            "lazy",
        ],
        "Describe the circumstances and the information people had, not their character.",
    ),
    (
        &["fault", "faults", "to blame", "blame", "blamed", "culprit"],
        "Look for contributing factors rather than fault: what in the system allowed this?",
    ),
];

/// Verbs of failure that, with a person as subject, blame them.
const FAILURE_VERBS: &[&str] = &[
    "failed",
    "forgot",
    "broke",
    "caused",
    "missed",
    "neglected",
    "ignored",
    "didn't",
    "did not",
    "messed up",
    "screwed up",
    "overlooked",
    "mistakenly",
];

const PERSON_SUGGESTION: &str = "Make the system the subject: what let this happen (\"the deploy ran without the migration because the pipeline does not check for it\")?";

/// Splits into sentences (on . ! ? and line breaks), keeping their text.
fn sentences(text: &str) -> Vec<&str> {
    text.split(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|it| !it.is_empty())
        .collect()
}

/// Words of a sentence, lowercased, with punctuation trimmed (apostrophes kept).
fn words(sentence: &str) -> Vec<String> {
    sentence
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '*' | '_')
        })
        .map(|it| {
            it.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
        })
        .filter(|it| !it.is_empty())
        .collect()
}

/// The position of `phrase` (one or more words) in `words`, on word boundaries.
fn find(words: &[String], phrase: &str) -> Option<usize> {
    let wanted: Vec<&str> = phrase.split(' ').collect();
    (0..words.len()).find(|start| {
        wanted
            .iter()
            .enumerate()
            .all(|(idx, it)| words.get(start + idx).is_some_and(|word| word == it))
    })
}

/// Checks `text`; `people` are the names (and email local parts) of the people involved, so
/// "Bob forgot …" is caught while "The deploy failed …" is not.
pub fn check(text: &str, people: &[String]) -> Vec<Finding> {
    let people: Vec<Vec<String>> = people
        .iter()
        .flat_map(|it| {
            // "Ana Lima" flags as "Ana", "Lima" or "Ana Lima".
            let mut forms = vec![words(it)];
            forms.extend(words(it).into_iter().map(|word| vec![word]));
            forms
        })
        .filter(|it| !it.is_empty())
        .collect();
    let mut findings = Vec::new();
    for sentence in sentences(text) {
        let words = words(sentence);
        let mut flagged = false;
        for (phrases, suggestion) in PHRASES {
            if let Some(phrase) = phrases.iter().find(|it| find(&words, it).is_some()) {
                findings.push(Finding {
                    sentence: sentence.to_string(),
                    matched: phrase.to_string(),
                    suggestion,
                });
                flagged = true;
                break;
            }
        }
        if flagged {
            continue;
        }
        // A person (or he / she) directly followed by a failure verb.
        'person: for (idx, _) in words.iter().enumerate() {
            let subjects = people
                .iter()
                .filter(|name| words[idx..].starts_with(name))
                .map(Vec::len)
                .chain(
                    ["he", "she"]
                        .iter()
                        .filter(|it| words[idx] == **it)
                        .map(|_| 1),
                );
            for len in subjects.collect::<Vec<_>>() {
                let rest = &words[idx + len..];
                if let Some(verb) = FAILURE_VERBS
                    .iter()
                    .find(|verb| find(rest, verb) == Some(0))
                {
                    findings.push(Finding {
                        sentence: sentence.to_string(),
                        matched: format!("{} {verb}", words[idx..idx + len].join(" ")),
                        suggestion: PERSON_SUGGESTION,
                    });
                    break 'person;
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blaming_sentences_are_flagged_and_system_sentences_are_not() {
        let people = vec!["Bob Stone".to_string(), "ana".to_string()];
        let must_flag = [
            ("Bob forgot to run the migration.", "bob forgot"),
            (
                "Then Bob Stone caused the outage by restarting the wrong node",
                "bob stone caused",
            ),
            ("Stone missed the alert", "stone missed"),
            ("ana didn't check the dashboard", "ana didn't"),
            ("This was human error.", "human error"),
            (
                "The on-call engineer should have rolled back sooner",
                "should have",
            ),
            ("A careless change to the config", "careless"),
            ("It was the DBA's fault", "fault"),
            ("Nobody is to blame here", "to blame"),
            ("He failed to page the database team", "he failed"),
        ];
        for (text, matched) in must_flag {
            let found = check(text, &people);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].matched, matched, "{text}");
            assert!(!found[0].suggestion.is_empty());
        }
        let must_not_flag = [
            "The deploy failed because the migration timed out.",
            "The load balancer forgot its sticky sessions after the restart.",
            "A faulty disk on db-2 caused the failover.",
            "Bob rolled back the release at 09:42.",
            "The alert should fire when the queue is full for five minutes.",
            "Ana noticed the error rate first and paged the team.",
            "Bobby Tables failed the input validation test.",
            "",
        ];
        for text in must_not_flag {
            assert_eq!(check(text, &people), Vec::new(), "{text}");
        }
        // Several sentences: each finding names its own sentence.
        let found = check(
            "The queue filled up. Bob forgot the flag! It was human error",
            &people,
        );
        let sentences: Vec<&str> = found.iter().map(|it| it.sentence.as_str()).collect();
        assert_eq!(sentences, ["Bob forgot the flag", "It was human error"]);
    }
}

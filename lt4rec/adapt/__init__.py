"""``lt4rec adapt``: maps a public dataset onto LT4REC's log contract through a mapping file.

``mapping`` reads and checks the mapping file (JSON); ``adapter`` applies it to a source table
and writes day folders plus a quarantine file and an accounting report; ``cli`` is the command.
"""

from fleet import entry

entry.main()

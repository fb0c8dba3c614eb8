from driftaudit.cli import main

main()
